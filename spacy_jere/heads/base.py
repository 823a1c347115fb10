"""The head interface.

A head has two faces:
- ``Head``: what the config builds (``spacy_jere.SpERTHead.v1``, ...). It holds the
  settings (classifier builders, decoding rules, loss weights), validates them, builds
  its torch module once the widths are known (``build``), and computes the loss and its
  gradients from the net's outputs on thinc arrays (``loss``), as spaCy pipes do.
- ``HeadModule``: the torch module inside the net. It scores spans, decides which are
  entities, scores pairs through the relation encoder and decodes relations, all on the
  device. It reads the decoding settings from its ``Head`` at call time, so they can be
  changed on a trained pipeline.

A new head subclasses both; it may add loss terms (``HeadLoss.terms``) and outputs of
its own, e.g. per-token tag logits (``HeadModule.extra_outputs``): every float output
that needs a gradient gets one from ``Head.loss``.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, NamedTuple

import torch
from torch import nn

from ..layers.pairing import suppress_overlaps

ENTITY_OVERLAP = ("allow", "flat")


@dataclass(frozen=True)
class HeadDims:
    token_width: int
    span_features: int  # span representation + context, what the span classifier reads
    n_entity_classes: int  # entity labels + "none"
    n_relation_labels: int


class EntityDecision(NamedTuple):
    labels: torch.Tensor  # (S,) long: 0 = no entity, else the 1-based entity label
    confidence: torch.Tensor  # (S,) what ranks entities (overlaps, the pair cap)
    scores: torch.Tensor  # (S,) the probability reported for the decided label


@dataclass
class HeadLoss:
    total: float
    terms: Dict[str, float]  # named parts of ``total`` (already weighted)
    gradients: Dict[str, object] = field(default_factory=dict)  # output name -> d(total)/d(output)


class Head:
    """Settings shared by every head; subclasses set ``module_class`` and ``loss``."""

    module_class: type = None

    def __init__(self, *, span_classifier: Callable, relation_classifier: Callable, relation_threshold: float,
                 max_pairs: int, entity_overlap: str, entity_loss_weight: float, relation_loss_weight: float):
        where = type(self).__name__
        problems = []
        if not 0.0 <= relation_threshold <= 1.0:
            problems.append(f"relation_threshold must be in [0, 1], got {relation_threshold}")
        if max_pairs < 0:
            problems.append(f"max_pairs must be >= 0 (0: no cap), got {max_pairs}")
        if entity_overlap not in ENTITY_OVERLAP:
            problems.append(f"entity_overlap must be one of {', '.join(ENTITY_OVERLAP)}, got {entity_overlap!r}")
        for name, value in (("entity_loss_weight", entity_loss_weight), ("relation_loss_weight", relation_loss_weight)):
            if value < 0:
                problems.append(f"{name} must be >= 0, got {value}")
        if problems:
            raise ValueError(f"{where}: " + "; ".join(problems))
        self.span_classifier = span_classifier
        self.relation_classifier = relation_classifier
        self.relation_threshold = relation_threshold
        self.max_pairs = max_pairs
        self.entity_overlap = entity_overlap
        self.entity_loss_weight = entity_loss_weight
        self.relation_loss_weight = relation_loss_weight

    def build(self, dims: HeadDims, relation_encoder: nn.Module) -> "HeadModule":
        return self.module_class(self, dims, relation_encoder)

    def detected(self, span_logits, relation_logits):
        """(is entity (S,), has a relation (P,)): the head's yes/no decisions on host
        arrays of its logits, before types (for diagnostics)."""
        raise NotImplementedError

    def loss(self, ops, outputs: Dict[str, object], span_targets, pair_targets) -> HeadLoss:
        """Loss and gradients of the net's differentiable ``outputs`` (thinc arrays on the
        model's device); ``span_targets`` (S,) 0 = none, else the 1-based label;
        ``pair_targets`` (P, R) multi-hot."""
        raise NotImplementedError


class HeadModule(nn.Module):
    def __init__(self, settings: Head, dims: HeadDims):
        super().__init__()
        self.settings = settings
        self.n_relation_labels = dims.n_relation_labels

    @property
    def max_pairs(self) -> int:
        return self.settings.max_pairs

    def score_spans(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decide_entities(self, span_logits: torch.Tensor) -> EntityDecision:
        raise NotImplementedError

    def score_pairs(self, encoder: nn.Module, inputs, span_types: torch.Tensor) -> torch.Tensor:
        """Relation logits of ``inputs.pairs``; ``inputs.encode(encoder, types)`` gives
        the pair representations."""
        raise NotImplementedError

    def decode_relations(self, relation_logits: torch.Tensor):
        """(pair rows, 0-based labels, scores) of the relations found."""
        raise NotImplementedError

    def resolve_overlaps(self, spans: torch.Tensor, labels: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        """The entity labels after the ``entity_overlap`` rule (inference only)."""
        if self.settings.entity_overlap != "flat":
            return labels
        keep = suppress_overlaps(spans, labels > 0, confidence)
        return torch.where(keep, labels, torch.zeros_like(labels))

    def extra_outputs(self, tokens: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Outputs of the head's own, e.g. per-token logits; none by default."""
        return {}

    def empty_relation_logits(self, like: torch.Tensor, n_pairs: int, width: int) -> torch.Tensor:
        return like.new_zeros((n_pairs, width))
