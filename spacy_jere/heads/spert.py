"""SpERT's head: a softmax over (none, entity types) per span, a sigmoid per relation
type per pair (multi-label, a relation where the probability exceeds the threshold)."""
import math
from typing import Callable

import torch
from spacy.util import registry

from .base import EntityDecision, Head, HeadDims, HeadLoss, HeadModule
from .losses import bce_with_logits, log_softmax

RELATION_LABEL_LOSS = ("sum", "mean")


class SpERTHead(Head):
    """``relation_label_loss``: a pair's binary cross-entropies over the relation labels
    are summed ("sum", ours) or averaged ("mean", SpERT's code: the relation loss then
    weighs 1/labels as much against the entity loss in the shared encoder)."""

    def __init__(self, *, span_classifier: Callable, relation_classifier: Callable, relation_threshold: float,
                 max_pairs: int, entity_overlap: str, entity_loss_weight: float, relation_loss_weight: float,
                 relation_label_loss: str):
        super().__init__(span_classifier=span_classifier, relation_classifier=relation_classifier,
                         relation_threshold=relation_threshold, max_pairs=max_pairs, entity_overlap=entity_overlap,
                         entity_loss_weight=entity_loss_weight, relation_loss_weight=relation_loss_weight)
        if relation_label_loss not in RELATION_LABEL_LOSS:
            raise ValueError(f"SpERTHead: relation_label_loss must be one of {', '.join(RELATION_LABEL_LOSS)}, "
                             f"got {relation_label_loss!r}")
        self.relation_label_loss = relation_label_loss

    @property
    def module_class(self):
        return SpERTHeadModule

    def detected(self, span_logits, relation_logits):
        return span_logits.argmax(-1) > 0, (relation_logits > _logit(self.relation_threshold)).any(-1)

    def loss(self, ops, outputs, span_targets, pair_targets) -> HeadLoss:
        """Entity cross-entropy (mean over spans) plus relation binary cross-entropy
        (over the labels, mean over pairs), each weighted."""
        xp = ops.xp
        span_logits, rel_logits = outputs["span_logits"], outputs["relation_logits"]
        w_ent, w_rel = self.entity_loss_weight, self.relation_loss_weight
        if self.relation_label_loss == "mean":
            w_rel /= max(pair_targets.shape[1], 1)
        n_spans = max(len(span_targets), 1)
        log_probs = log_softmax(xp, span_logits)
        rows = xp.arange(len(span_targets))
        entity_loss = -float(log_probs[rows, span_targets].sum()) / n_spans
        d_span = xp.exp(log_probs)
        d_span[rows, span_targets] -= 1.0
        d_span *= w_ent / n_spans
        relation_loss = 0.0
        d_rel = ops.alloc2f(*rel_logits.shape)
        if rel_logits.size:
            n_pairs = len(pair_targets)
            relation_loss = float(bce_with_logits(xp, rel_logits, pair_targets).sum()) / n_pairs
            d_rel = (ops.sigmoid(rel_logits) - pair_targets) * (w_rel / n_pairs)
        return HeadLoss(
            total=w_ent * entity_loss + w_rel * relation_loss,
            terms={"entity": w_ent * entity_loss, "relation": w_rel * relation_loss},
            gradients={"span_logits": d_span.astype("float32"), "relation_logits": d_rel.astype("float32")},
        )


def _logit(p: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))


class SpERTHeadModule(HeadModule):
    def __init__(self, settings: SpERTHead, dims: HeadDims, relation_encoder):
        super().__init__(settings, dims)
        self.span_classifier = settings.span_classifier(n_in=dims.span_features, n_out=dims.n_entity_classes)
        self.relation_classifier = settings.relation_classifier(
            n_in=relation_encoder.output_width, n_out=max(dims.n_relation_labels, 1)
        )

    def score_spans(self, features: torch.Tensor) -> torch.Tensor:
        return self.span_classifier(features)

    def decide_entities(self, span_logits: torch.Tensor) -> EntityDecision:
        confidence, labels = span_logits.detach().float().softmax(-1).max(-1)
        return EntityDecision(labels, confidence, confidence)

    def score_pairs(self, encoder, inputs, span_types: torch.Tensor) -> torch.Tensor:
        n_pairs = inputs.pairs.shape[0]
        if n_pairs == 0 or self.n_relation_labels == 0:
            return self.empty_relation_logits(inputs.span_reps, n_pairs, self.n_relation_labels)
        return self.relation_classifier(inputs.encode(encoder, span_types))

    def decode_relations(self, relation_logits: torch.Tensor):
        probs = torch.sigmoid(relation_logits.detach().float())
        rows, labels = torch.nonzero(probs > self.settings.relation_threshold, as_tuple=True)
        return rows, labels, probs[rows, labels]


@registry.architectures("spacy_jere.SpERTHead.v1")
def spert_head(
    span_classifier: Callable,
    relation_classifier: Callable,
    relation_threshold: float = 0.4,
    max_pairs: int = 1000,
    entity_overlap: str = "allow",
    entity_loss_weight: float = 1.0,
    relation_loss_weight: float = 1.0,
    relation_label_loss: str = "sum",
) -> Head:
    """SpERT: softmax over (none, types) per span, a sigmoid per relation type per pair.
    relation_threshold: a pair gets every label whose probability exceeds it.
    max_pairs: cap on candidate pairs per doc at inference (0: none); the pairs of the
        least confident entities are dropped, counted and warned about.
    entity_overlap: "allow" (nested and overlapping entities) or "flat" (of overlapping
        predicted entities keep the most confident).
    relation_label_loss: a pair's binary cross-entropies over the labels, "sum" or
        "mean" (SpERT's code)."""
    return SpERTHead(span_classifier=span_classifier, relation_classifier=relation_classifier,
                     relation_threshold=relation_threshold, max_pairs=max_pairs, entity_overlap=entity_overlap,
                     entity_loss_weight=entity_loss_weight, relation_loss_weight=relation_loss_weight,
                     relation_label_loss=relation_label_loss)
