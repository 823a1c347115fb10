"""Gold annotation -> training targets, one doc at a time.

A reference doc's entities (``doc.spans[spans_key]``) and relations (``doc._.relations``)
are mapped onto the predicted doc's tokens (the two may be tokenized differently) and
onto label indices. A gold span whose characters do not start and end on predicted
token boundaries cannot be a candidate span: it is left out, counted in
``TargetStats`` and reported by the pipe, never dropped silently.
"""
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy
from spacy.tokens import Doc
from spacy.training import Example

from .candidates import DocTargets
from .relations import get_relations


class LabelMaps:
    """Label -> index, built once per label set: entities 1-based (0 is "none")."""

    def __init__(self, entity_labels: Sequence[str], relation_labels: Sequence[str]):
        self.entity_ids = {label: i + 1 for i, label in enumerate(entity_labels)}
        self.relation_ids = {label: i for i, label in enumerate(relation_labels)}


@dataclass
class TargetStats:
    unaligned_entities: int = 0  # gold spans not on predicted token boundaries
    conflicting_types: int = 0  # a second type for a span already typed (one type a span)
    relations_left_out: int = 0  # relations with an argument left out for either reason
    untagged_entities: int = 0  # token stack: entities deeper than the tag scheme (left out of the tags)

    MESSAGE = (
        "Some gold annotation could not be used in training (running counts in the pipe's target_stats): "
        "gold entities whose characters do not start and end on the predicted doc's token boundaries, second "
        "types of a span that already has one (one type a span), and the relations of such entities; with a "
        "token stack, entities overlapping deeper than its tag scheme (left out of the tags). Use a tokenizer "
        "that matches the annotation (or gold_preproc)."
    )

    def any(self) -> bool:
        return bool(self.unaligned_entities or self.conflicting_types or self.relations_left_out
                    or self.untagged_entities)


def _char_bounds(doc: Doc) -> Tuple[numpy.ndarray, numpy.ndarray]:
    starts = numpy.array([token.idx for token in doc], dtype="int64")
    ends = starts + numpy.array([len(token) for token in doc], dtype="int64")
    return starts, ends


def align_spans(eg: Example, spans: numpy.ndarray) -> numpy.ndarray:
    """Reference (start, end) token spans -> predicted-doc token spans, -1 where a span's
    characters do not start and end on predicted token boundaries."""
    pred, ref = eg.predicted, eg.reference
    if len(spans) == 0:
        return spans.reshape(-1, 2)
    if len(pred) == len(ref) and numpy.array_equal(pred.to_array("ORTH"), ref.to_array("ORTH")):
        return spans
    ref_starts, ref_ends = _char_bounds(ref)
    pred_starts, pred_ends = _char_bounds(pred)
    first_char, last_char = ref_starts[spans[:, 0]], ref_ends[spans[:, 1] - 1]
    start = numpy.searchsorted(pred_starts, first_char).clip(max=len(pred) - 1)
    end = numpy.searchsorted(pred_ends, last_char).clip(max=len(pred) - 1)
    ok = (pred_starts[start] == first_char) & (pred_ends[end] == last_char)
    return numpy.where(ok[:, None], numpy.stack([start, end + 1], axis=1), -1)


def doc_targets(eg: Example, spans_key: str, labels: LabelMaps, where: str, stats: TargetStats) -> DocTargets:
    """Gold entities and relations of an example, in predicted-doc tokens."""
    gold_spans = list(eg.reference.spans.get(spans_key, []))
    for span in gold_spans:
        if span.label_ not in labels.entity_ids:
            raise ValueError(f"{where}: entity label {span.label_!r} was not seen at initialize; "
                             f"known: {list(labels.entity_ids)}")
    ref_bounds = numpy.array([(s.start, s.end) for s in gold_spans], dtype="int64").reshape(-1, 2)
    aligned = align_spans(eg, ref_bounds)
    boundaries: Dict[Tuple[int, int], Tuple[int, int]] = {}
    index: Dict[Tuple[int, int], int] = {}
    spans: List[Tuple[int, int]] = []
    span_labels: List[int] = []
    for span, (start, end) in zip(gold_spans, aligned.tolist(), strict=True):
        if start < 0:
            stats.unaligned_entities += 1
            continue
        boundaries[(span.start, span.end)] = (start, end)
        if (start, end) in index:
            if span_labels[index[(start, end)]] != labels.entity_ids[span.label_]:
                stats.conflicting_types += 1
            continue
        index[(start, end)] = len(spans)
        spans.append((start, end))
        span_labels.append(labels.entity_ids[span.label_])
    n_labels = len(labels.relation_ids)
    pair_index: Dict[Tuple[int, int], int] = {}
    pair_labels: List[numpy.ndarray] = []
    for rel in get_relations(eg.reference):
        if rel.label not in labels.relation_ids:
            raise ValueError(f"{where}: relation label {rel.label!r} was not seen at initialize; "
                             f"known: {list(labels.relation_ids)}")
        head = boundaries.get((rel.head.start, rel.head.end))
        tail = boundaries.get((rel.tail.start, rel.tail.end))
        if head is None or tail is None:
            stats.relations_left_out += 1
            continue
        key = (index[head], index[tail])
        if key not in pair_index:
            pair_index[key] = len(pair_labels)
            pair_labels.append(numpy.zeros((n_labels,), "float32"))
        pair_labels[pair_index[key]][labels.relation_ids[rel.label]] = 1.0
    return DocTargets(
        spans=numpy.array(spans, dtype="int64").reshape(-1, 2),
        span_labels=numpy.array(span_labels, dtype="int64"),
        pairs=numpy.array(list(pair_index), dtype="int64").reshape(-1, 2),
        pair_labels=numpy.array(pair_labels, dtype="float32").reshape(len(pair_labels), n_labels),
    )


def check_relation_arguments(doc: Doc, spans_key: str, where: str) -> None:
    """Every relation argument must be one of the doc's gold entities."""
    gold = {(s.start, s.end, s.label_) for s in doc.spans.get(spans_key, [])}
    for j, rel in enumerate(get_relations(doc)):
        for role, span in (("head", rel.head), ("tail", rel.tail)):
            if (span.start, span.end, span.label_) not in gold:
                raise ValueError(
                    f"{where}: relation {j} ({rel.label}) has {role} {span.text!r} [{span.start}:{span.end}] "
                    f"{span.label_!r}, which is not an entity in doc.spans['{spans_key}']"
                )
