"""Gated fusion (Ji et al. 2022, eq. 5a-5c): a softmax-weighted sum of same-width parts."""
import torch
from torch import nn

FUSIONS = ("concat", "gated")


def check_fusion(fusion: str, where: str) -> None:
    if fusion not in FUSIONS:
        raise ValueError(f"{where}: fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")


class GatedFusion(nn.Module):
    """The weight of each part is a scalar score W1 . E_o + b1 (W1 and b1 shared by the
    parts), softmaxed over the parts.

    ``n_projected`` > 0 first maps each of that many parts by its own linear layer
    (our addition): a plain weighted sum is the same for (head, tail) and (tail,
    head), so a relation representation fused as in eq. 5 cannot tell direction."""

    def __init__(self, width: int, n_projected: int = 0):
        super().__init__()
        self.gate = nn.Linear(width, 1)
        self.projections = nn.ModuleList(nn.Linear(width, width) for _ in range(n_projected))

    def forward(self, parts):
        if len(self.projections):
            if len(parts) != len(self.projections):
                raise ValueError(f"GatedFusion: built for {len(self.projections)} parts, got {len(parts)}")
            parts = [project(part) for project, part in zip(self.projections, parts, strict=True)]
        stacked = torch.stack(parts, dim=1)  # (rows, parts, width)
        weights = torch.softmax(self.gate(stacked).squeeze(-1), dim=-1)
        return (weights.unsqueeze(-1) * stacked).sum(1)
