"""Ji et al. 2022's two-phase head: phase one decides entity / not and relation / not
(binary classifiers), phase two types what phase one kept (softmax classifiers); the
loss is the sum of the four (eq. 16).

Column layout of the logits: span column 0 is the binary entity logit, columns 1.. the
type logits; pair column 0 the binary relation logit, columns 1.. the type logits.
Decoding: entity if P > 0.5, relation if P > ``relation_threshold``, one type each
(the most likely); scores are P(phase one) * P(type).

Phase one's pair representation sees the relation encoder's distance-only global
features (types all 0). ``phase_two_features`` decides how phase two's gets the typed
ones, when the encoder reads types: "replace" (our first decision) encodes the pair
again with the (head type, tail type, distance) embedding; "gate" (section 3.3.2 as
written) is an eq. 5 gate over phase one's representation and that embedding, which
passes a linear layer to the representation's width when the two differ (concat
fusion; our addition).
"""
from typing import Callable

import torch
from spacy.util import registry
from torch import nn

from ..layers.fusion import GatedFusion
from ..layers.relation_encoders import tokens_between
from .base import EntityDecision, Head, HeadDims, HeadLoss, HeadModule
from .losses import bce_with_logits, log_softmax
from .spert import _logit

PHASE_TWO_FEATURES = ("replace", "gate")
# What phase two's type CE is averaged over: the gold items (the paper's per-task mean),
# or all candidates, as phase one's BCE and SpERT's single CE are.
PHASE_TWO_LOSS = ("gold", "candidates")


class TwoPhaseHead(Head):
    def __init__(self, *, span_classifier: Callable, relation_classifier: Callable, relation_threshold: float,
                 max_pairs: int, entity_overlap: str, entity_loss_weight: float, relation_loss_weight: float,
                 phase_two_features: str, phase_two_loss: str = "gold"):
        super().__init__(span_classifier=span_classifier, relation_classifier=relation_classifier,
                         relation_threshold=relation_threshold, max_pairs=max_pairs, entity_overlap=entity_overlap,
                         entity_loss_weight=entity_loss_weight, relation_loss_weight=relation_loss_weight)
        if phase_two_features not in PHASE_TWO_FEATURES:
            raise ValueError(f"TwoPhaseHead: phase_two_features must be one of {', '.join(PHASE_TWO_FEATURES)}, "
                             f"got {phase_two_features!r}")
        if phase_two_loss not in PHASE_TWO_LOSS:
            raise ValueError(f"TwoPhaseHead: phase_two_loss must be one of {', '.join(PHASE_TWO_LOSS)}, "
                             f"got {phase_two_loss!r}")
        self.phase_two_features = phase_two_features
        self.phase_two_loss = phase_two_loss

    @property
    def module_class(self):
        return TwoPhaseHeadModule

    def detected(self, span_logits, relation_logits):
        has_relation = relation_logits[:, 0] > _logit(self.relation_threshold) if relation_logits.size else (
            relation_logits.sum(-1) > 0)
        return span_logits[:, 0] > 0, has_relation

    def loss(self, ops, outputs, span_targets, pair_targets) -> HeadLoss:
        """Binary CE of phase one (mean over spans / pairs) plus the type CE of phase two
        (mean over gold entities / gold relations, or with ``phase_two_loss =
        "candidates"`` summed over them and divided by the spans / pairs); a pair with
        several gold types gets them as an even target distribution."""
        xp = ops.xp
        span_logits, rel_logits = outputs["span_logits"], outputs["relation_logits"]
        w_ent, w_rel = self.entity_loss_weight, self.relation_loss_weight
        d_span = xp.zeros(span_logits.shape, dtype="float32")
        is_entity = (span_targets > 0).astype("float32")
        n_spans = max(len(span_targets), 1)
        entity_loss = float(bce_with_logits(xp, span_logits[:, 0], is_entity).sum()) / n_spans
        d_span[:, 0] = (ops.sigmoid(span_logits[:, 0]) - is_entity) / n_spans
        gold = xp.nonzero(span_targets > 0)[0]
        by_candidates = self.phase_two_loss == "candidates"
        if len(gold):
            log_probs = log_softmax(xp, span_logits[gold, 1:])
            rows = xp.arange(len(gold))
            types = span_targets[gold] - 1
            n_typed = n_spans if by_candidates else len(gold)
            entity_loss -= float(log_probs[rows, types].sum()) / n_typed
            d_types = xp.exp(log_probs)
            d_types[rows, types] -= 1.0
            d_span[gold, 1:] = d_types / n_typed
        d_span *= w_ent

        d_rel = xp.zeros(rel_logits.shape, dtype="float32")
        relation_loss = 0.0
        if rel_logits.size:
            has_relation = (pair_targets.sum(-1) > 0).astype("float32")
            n_pairs = len(pair_targets)
            relation_loss = float(bce_with_logits(xp, rel_logits[:, 0], has_relation).sum()) / n_pairs
            d_rel[:, 0] = (ops.sigmoid(rel_logits[:, 0]) - has_relation) / n_pairs
            gold_pairs = xp.nonzero(has_relation)[0]
            if len(gold_pairs):
                target = pair_targets[gold_pairs] / pair_targets[gold_pairs].sum(-1, keepdims=True)
                log_probs = log_softmax(xp, rel_logits[gold_pairs, 1:])
                n_typed = n_pairs if by_candidates else len(gold_pairs)
                relation_loss -= float((target * log_probs).sum()) / n_typed
                d_rel[gold_pairs, 1:] = (xp.exp(log_probs) - target) / n_typed
            d_rel *= w_rel
        return HeadLoss(
            total=w_ent * entity_loss + w_rel * relation_loss,
            terms={"entity": w_ent * entity_loss, "relation": w_rel * relation_loss},
            gradients={"span_logits": d_span.astype("float32"), "relation_logits": d_rel.astype("float32")},
        )


class TwoPhaseHeadModule(HeadModule):
    def __init__(self, settings: TwoPhaseHead, dims: HeadDims, relation_encoder):
        super().__init__(settings, dims)
        span_features, n_relation_labels = dims.span_features, dims.n_relation_labels
        relation_features = relation_encoder.output_width
        # The phase-two gate is built before the classifiers: the random draws (and so
        # the initial weights at a given seed) are those of the code before the heads.
        self.phase_two_gate = None
        if settings.phase_two_features == "gate":
            if not getattr(relation_encoder, "uses_entity_types", False):
                raise ValueError("TwoPhaseHead: phase_two_features = \"gate\" gates the relation encoder's typed "
                                 "global features into phase two: use an encoder with global_features = true")
            width = relation_encoder.features.embedding_dim
            self.phase_two_gate = GatedFusion(relation_features)
            self.typed_projection = nn.Linear(width, relation_features) if width != relation_features else nn.Identity()
        self.span_classifier = settings.span_classifier(n_in=span_features, n_out=1)
        self.span_typer = settings.span_classifier(n_in=span_features, n_out=dims.n_entity_classes - 1)
        self.relation_classifier = settings.relation_classifier(n_in=relation_features, n_out=1)
        self.relation_typer = settings.relation_classifier(n_in=relation_features, n_out=max(n_relation_labels, 1))

    def score_spans(self, features: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.span_classifier(features), self.span_typer(features)], dim=-1)

    def decide_entities(self, span_logits: torch.Tensor) -> EntityDecision:
        decided = span_logits.detach().float()
        is_entity = decided[:, 0] > 0
        p_entity = torch.sigmoid(decided[:, 0])
        type_probs = decided[:, 1:].softmax(-1)
        labels = torch.where(is_entity, decided[:, 1:].argmax(-1) + 1, torch.zeros_like(is_entity, dtype=torch.long))
        scores = torch.where(is_entity, p_entity * type_probs.max(-1).values, 1 - p_entity)
        return EntityDecision(labels, p_entity, scores)

    def score_pairs(self, encoder, inputs, span_types: torch.Tensor) -> torch.Tensor:
        n_pairs = inputs.pairs.shape[0]
        if n_pairs == 0 or self.n_relation_labels == 0:
            n_logits = self.n_relation_labels + (1 if self.n_relation_labels else 0)
            return self.empty_relation_logits(inputs.span_reps, n_pairs, n_logits)
        # An encoder that reads no types gives both phases the same representation, computed once.
        untyped = inputs.encode(encoder, torch.zeros_like(span_types))
        typed = self.phase_two_representation(encoder, inputs, untyped, span_types)
        return torch.cat([self.relation_classifier(untyped), self.relation_typer(typed)], dim=-1)

    def phase_two_representation(
        self, encoder, inputs, phase_one: torch.Tensor, span_types: torch.Tensor
    ) -> torch.Tensor:
        """Phase two's pair representation from phase one's (see ``phase_two_features``)."""
        if not getattr(encoder, "uses_entity_types", False):
            return phase_one
        if self.phase_two_gate is None:
            return inputs.encode(encoder, span_types)
        features = encoder.global_features(inputs.pairs, tokens_between(inputs.spans, inputs.pairs), span_types)
        return self.phase_two_gate([phase_one, self.typed_projection(features)])

    def decode_relations(self, relation_logits: torch.Tensor):
        if relation_logits.numel() == 0:
            empty = torch.zeros((0,), dtype=torch.long, device=relation_logits.device)
            return empty, empty, relation_logits.new_zeros((0,), dtype=torch.float32)
        logits = relation_logits.detach().float()
        p_relation = torch.sigmoid(logits[:, 0])
        type_probs = logits[:, 1:].softmax(-1)
        rows = torch.nonzero(p_relation > self.settings.relation_threshold, as_tuple=True)[0]
        labels = type_probs[rows].argmax(-1)
        return rows, labels, p_relation[rows] * type_probs[rows, labels]


@registry.architectures("spacy_jere.TwoPhaseHead.v1")
def two_phase_head(
    span_classifier: Callable,
    relation_classifier: Callable,
    relation_threshold: float = 0.4,
    max_pairs: int = 1000,
    entity_overlap: str = "allow",
    entity_loss_weight: float = 1.0,
    relation_loss_weight: float = 1.0,
    phase_two_features: str = "replace",
    phase_two_loss: str = "gold",
) -> Head:
    """Ji et al. 2022: binary entity / relation classifiers, then type classifiers over
    what they keep, trained jointly. phase_two_features: "replace" or "gate" (how phase
    two's pair representation gets the typed global features; see heads.two_phase).
    phase_two_loss: "gold" (the paper's mean over gold items) or "candidates" (the
    type CE over the same denominator as phase one's)."""
    return TwoPhaseHead(span_classifier=span_classifier, relation_classifier=relation_classifier,
                        relation_threshold=relation_threshold, max_pairs=max_pairs, entity_overlap=entity_overlap,
                        entity_loss_weight=entity_loss_weight, relation_loss_weight=relation_loss_weight,
                        phase_two_features=phase_two_features, phase_two_loss=phase_two_loss)
