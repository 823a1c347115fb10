"""Gated fusion (Ji et al. 2022, eq. 5a-5c): a softmax-weighted sum of same-width parts."""
import torch
from torch import nn

FUSIONS = ("concat", "gated")


def check_fusion(fusion: str, where: str, embedding_std: float = 1.0) -> None:
    if fusion not in FUSIONS:
        raise ValueError(f"{where}: fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")
    if not embedding_std > 0:
        raise ValueError(f"{where}: fused_embedding_std must be > 0, got {embedding_std}")


def fused_embedding(rows: int, width: int, std: float) -> nn.Embedding:
    """An embedding table summed with token vectors by the gate. torch's default init,
    N(0, 1), gives rows of norm ~sqrt(width) (19.6 at width 384), two to three times a
    MiniLM token vector's (6-9): at the start such a part drowns the others in the sum.
    ``std`` sets the scale (0.02 is the encoders' own embedding init)."""
    embedding = nn.Embedding(rows, width)
    with torch.no_grad():  # scales torch's own N(0, 1) draw: std 1.0 is the same table as before
        embedding.weight.mul_(std)
    return embedding


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
