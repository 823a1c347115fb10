"""Span pruning (PERA, Zhang et al., section 3.2): a linear scorer over every candidate
span's features; per sentence only the ``ceil(retention * m)`` best of its ``m``
candidates (at least ``min_keep``) reach the head's span classifier. The others are
"no entity" without being classified.

Like the head, the pruner has two faces: ``SpanPruner`` is the config's object
(settings, validation, the scorer's loss) and ``PrunerModule`` the torch module in the
net (scores and selection, on the device).

Training, as the paper says: gold spans are forced in (they rank first), so the
classifier sees the gold spans and the negatives the scorer ranks highest. The paper
leaves open how the scorer learns: a hard top-k passes no gradient from the classifier.
Our decision: ``scorer_loss = "entity"`` trains it with an auxiliary binary
cross-entropy, "is this candidate a gold entity", over all candidates (weight
``loss_weight``); ``"none"`` leaves the scorer as initialised (a random ranking, for the
ablation). In training every suggested span is a candidate (no negative sampling), so
that ``m`` is the same as at inference.
"""
import math
from typing import Optional, Tuple

import torch
from spacy.util import registry
from torch import nn

from ..heads.losses import bce_with_logits

SCORER_LOSS = ("entity", "none")


class SpanPruner:
    def __init__(self, *, retention: float, min_keep: int, scorer_loss: str, loss_weight: float):
        problems = []
        if not 0.0 < retention <= 1.0:
            problems.append(f"retention must be in (0, 1], got {retention}")
        if min_keep < 1:
            problems.append(f"min_keep must be >= 1, got {min_keep}")
        if scorer_loss not in SCORER_LOSS:
            problems.append(f"scorer_loss must be one of {', '.join(SCORER_LOSS)}, got {scorer_loss!r}")
        if loss_weight < 0:
            problems.append(f"loss_weight must be >= 0, got {loss_weight}")
        if problems:
            raise ValueError("SpanPruner: " + "; ".join(problems))
        self.retention = retention
        self.min_keep = min_keep
        self.scorer_loss = scorer_loss
        self.loss_weight = loss_weight

    def build(self, n_features: int) -> "PrunerModule":
        return PrunerModule(self, n_features)

    def loss(self, ops, scores, is_entity) -> Tuple[float, object]:
        """(loss, gradient of the scores): mean binary cross-entropy of the scores
        against ``is_entity`` (float 0/1, one per candidate), weighted."""
        if self.scorer_loss == "none" or not len(scores):
            return 0.0, ops.alloc1f(len(scores))
        n = len(scores)
        loss = float(bce_with_logits(ops.xp, scores, is_entity).sum()) / n
        grad = (ops.sigmoid(scores) - is_entity) * (self.loss_weight / n)
        return self.loss_weight * loss, grad.astype("float32")


class PrunerModule(nn.Module):
    def __init__(self, settings: SpanPruner, n_features: int):
        super().__init__()
        self.settings = settings
        self.scorer = nn.Linear(n_features, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.scorer(features).squeeze(-1)

    def select(self, scores: torch.Tensor, sentence_ids: torch.Tensor,
               forced: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Rows kept, ascending: per sentence the ``max(min_keep, ceil(retention * m))``
        best-scored candidates, and every ``forced`` one (gold spans in training)."""
        return keep_top(scores, sentence_ids, self.settings.retention, self.settings.min_keep, forced)


def keep_top(scores: torch.Tensor, sentence_ids: torch.Tensor, retention: float, min_keep: int,
             forced: Optional[torch.Tensor] = None) -> torch.Tensor:
    n = scores.shape[0]
    if n == 0:
        return torch.zeros((0,), dtype=torch.long, device=scores.device)
    key = scores.detach().float()
    if forced is not None:
        key = torch.where(forced, torch.full_like(key, math.inf), key)
    # Group by sentence, best first within a sentence: a stable sort by score, then a
    # stable sort by sentence.
    order = torch.argsort(key, descending=True, stable=True)
    order = order[torch.argsort(sentence_ids[order], stable=True)]
    counts = torch.bincount(sentence_ids, minlength=int(sentence_ids.max()) + 1)
    firsts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n, device=scores.device) - firsts[sentence_ids[order]]
    quota = torch.clamp(torch.ceil(counts.float() * retention).long(), min=min_keep)
    keep = rank < quota[sentence_ids]
    if forced is not None:
        keep |= forced
    return torch.nonzero(keep, as_tuple=False).squeeze(1)


@registry.architectures("spacy_jere.SpanPruner.v1")
def span_pruner(retention: float = 0.05, min_keep: int = 10, scorer_loss: str = "entity",
                loss_weight: float = 1.0) -> SpanPruner:
    """PERA's span pruning: per sentence, the ``ceil(retention * m)`` best of its ``m``
    candidate spans (at least ``min_keep``) go to the span classifier. ``scorer_loss``:
    how the linear scorer learns, "entity" (an auxiliary binary cross-entropy: is the
    span a gold entity) or "none" (not trained). ``retention`` can be changed on a
    trained pipeline."""
    return SpanPruner(retention=retention, min_keep=min_keep, scorer_loss=scorer_loss, loss_weight=loss_weight)
