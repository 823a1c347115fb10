"""Training objectives and decoding rules of the net's outputs, on thinc arrays.

- SpERT: spans get a softmax over (none, types), pairs a sigmoid per relation type.
- Two-phase (paper 004): span column 0 is a binary entity logit and columns 1.. type
  logits; pair column 0 a binary relation logit and columns 1.. type logits. Phase one
  decides entity / relation, phase two picks the type (softmax), and the two are
  trained jointly (eq. 16: the sum of the four losses).
"""
from dataclasses import dataclass
from typing import Tuple

import numpy
from thinc.api import Ops


@dataclass
class Decoded:
    span_labels: numpy.ndarray  # (S,) 0 = no entity, else 1-based entity label
    span_scores: numpy.ndarray  # (S,) probability of the decided entity label
    hit_pairs: numpy.ndarray  # (H,) pair rows that hold a relation
    hit_labels: numpy.ndarray  # (H,) 0-based relation label
    hit_scores: numpy.ndarray  # (H,) its probability


def _log_softmax(xp, logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(-1, keepdims=True))


def _softmax(x: numpy.ndarray) -> numpy.ndarray:
    exp = numpy.exp(x - x.max(-1, keepdims=True))
    return exp / exp.sum(-1, keepdims=True)


def _sigmoid(x: numpy.ndarray) -> numpy.ndarray:
    return 1 / (1 + numpy.exp(-x))


def _bce_with_logits(xp, logits, targets):
    # Stable: max(x, 0) - x*y + log(1 + exp(-|x|)).
    return xp.maximum(logits, 0) - logits * targets + xp.log1p(xp.exp(-xp.abs(logits)))


class SpERTObjective:
    two_phase = False

    def loss(self, ops: Ops, span_logits, span_targets, rel_logits, rel_targets, w_ent: float, w_rel: float) -> Tuple[float, Tuple]:
        """Entity cross-entropy (mean over spans) plus relation binary cross-entropy
        (summed over labels, mean over pairs), each weighted."""
        xp = ops.xp
        n_spans = max(len(span_targets), 1)
        log_probs = _log_softmax(xp, span_logits)
        rows = xp.arange(len(span_targets))
        entity_loss = -float(log_probs[rows, span_targets].sum()) / n_spans
        d_span = xp.exp(log_probs)
        d_span[rows, span_targets] -= 1.0
        d_span *= w_ent / n_spans
        relation_loss = 0.0
        d_rel = ops.alloc2f(*rel_logits.shape)
        if rel_logits.size:
            n_pairs = len(rel_targets)
            relation_loss = float(_bce_with_logits(xp, rel_logits, rel_targets).sum()) / n_pairs
            d_rel = (ops.sigmoid(rel_logits) - rel_targets) * (w_rel / n_pairs)
        return w_ent * entity_loss + w_rel * relation_loss, (d_span, d_rel)

    def decode(self, ops: Ops, span_logits, rel_logits, threshold: float) -> Decoded:
        span_probs = ops.to_numpy(ops.softmax(span_logits))
        rel_probs = ops.to_numpy(ops.sigmoid(rel_logits)) if rel_logits.size else numpy.zeros(rel_logits.shape, "float32")
        hit_pairs, hit_labels = numpy.nonzero(rel_probs > threshold)
        return Decoded(span_probs.argmax(-1), span_probs.max(-1), hit_pairs, hit_labels, rel_probs[hit_pairs, hit_labels])


class TwoPhaseObjective:
    two_phase = True

    def loss(self, ops: Ops, span_logits, span_targets, rel_logits, rel_targets, w_ent: float, w_rel: float) -> Tuple[float, Tuple]:
        """Binary CE of phase one (mean over spans / pairs) plus the type CE of phase two
        (mean over gold entities / gold relations); a pair with several gold types
        gets them as an even target distribution."""
        xp = ops.xp
        d_span = xp.zeros(span_logits.shape, dtype="float32")
        is_entity = (span_targets > 0).astype("float32")
        n_spans = max(len(span_targets), 1)
        entity_loss = float(_bce_with_logits(xp, span_logits[:, 0], is_entity).sum()) / n_spans
        d_span[:, 0] = (ops.sigmoid(span_logits[:, 0]) - is_entity) / n_spans
        gold = xp.nonzero(span_targets > 0)[0]
        if len(gold):
            log_probs = _log_softmax(xp, span_logits[gold, 1:])
            rows = xp.arange(len(gold))
            types = span_targets[gold] - 1
            entity_loss -= float(log_probs[rows, types].sum()) / len(gold)
            d_types = xp.exp(log_probs)
            d_types[rows, types] -= 1.0
            d_span[gold, 1:] = d_types / len(gold)
        d_span *= w_ent

        d_rel = xp.zeros(rel_logits.shape, dtype="float32")
        relation_loss = 0.0
        if rel_logits.size:
            has_relation = (rel_targets.sum(-1) > 0).astype("float32")
            n_pairs = len(rel_targets)
            relation_loss = float(_bce_with_logits(xp, rel_logits[:, 0], has_relation).sum()) / n_pairs
            d_rel[:, 0] = (ops.sigmoid(rel_logits[:, 0]) - has_relation) / n_pairs
            gold_pairs = xp.nonzero(has_relation)[0]
            if len(gold_pairs):
                target = rel_targets[gold_pairs] / rel_targets[gold_pairs].sum(-1, keepdims=True)
                log_probs = _log_softmax(xp, rel_logits[gold_pairs, 1:])
                relation_loss -= float((target * log_probs).sum()) / len(gold_pairs)
                d_rel[gold_pairs, 1:] = (xp.exp(log_probs) - target) / len(gold_pairs)
            d_rel *= w_rel
        return w_ent * entity_loss + w_rel * relation_loss, (d_span, d_rel)

    def decode(self, ops: Ops, span_logits, rel_logits, threshold: float) -> Decoded:
        """Phase one decides (entity: sigmoid > 0.5; relation: sigmoid > threshold);
        phase two's most likely type labels it. Scores are P(phase one) * P(type)."""
        span_logits = ops.to_numpy(span_logits)
        p_entity = _sigmoid(span_logits[:, 0])
        type_probs = _softmax(span_logits[:, 1:])
        labels = numpy.where(p_entity > 0.5, type_probs.argmax(-1) + 1, 0)
        scores = numpy.where(labels > 0, p_entity * type_probs.max(-1), 1 - p_entity)
        if not rel_logits.size:
            empty = numpy.zeros((0,), "int64")
            return Decoded(labels, scores, empty, empty, numpy.zeros((0,), "float32"))
        rel_logits = ops.to_numpy(rel_logits)
        p_relation = _sigmoid(rel_logits[:, 0])
        rel_type_probs = _softmax(rel_logits[:, 1:])
        hit_pairs = numpy.flatnonzero(p_relation > threshold)
        hit_labels = rel_type_probs[hit_pairs].argmax(-1)
        hit_scores = p_relation[hit_pairs] * rel_type_probs[hit_pairs, hit_labels]
        return Decoded(labels, scores, hit_pairs, hit_labels, hit_scores)


def objective_for(two_phase: bool):
    return TwoPhaseObjective() if two_phase else SpERTObjective()
