"""Candidate spans and pairs for a batch of docs, and the batch layout the torch net
consumes. Spans come from the pipe's suggester (``spacy_jere.suggesters``); in training
the gold spans are added and negatives are sampled from the suggested ones, and pairs
follow the one pair rule of ``layers.pairing``.

All token positions in a ``CandidateBatch`` are *global*: the docs' tokens are laid
end to end (doc ``i`` starts at ``token_offsets[i]``), so the model pools spans and
contexts from one flat token table by index, with no padding.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy
import torch
from spacy.tokens import Doc

from .layers.pairing import sentence_pairs

Ints1d = numpy.ndarray
Ints2d = numpy.ndarray


def sentence_ids(doc: Doc) -> Ints1d:
    """Sentence index of every token; one sentence when the doc is not segmented."""
    if len(doc) == 0:
        return numpy.zeros((0,), dtype="int64")
    if not doc.has_annotation("SENT_START"):
        return numpy.zeros((len(doc),), dtype="int64")
    is_start = doc.to_array("SENT_START") == 1
    is_start[0] = True
    return numpy.cumsum(is_start).astype("int64") - 1


def sentence_bounds(sent_ids: Ints1d) -> Ints2d:
    """(start, end) of each sentence, given every token's sentence id."""
    n_sents = int(sent_ids[-1]) + 1 if len(sent_ids) else 0
    starts = numpy.searchsorted(sent_ids, numpy.arange(n_sents), side="left")
    ends = numpy.searchsorted(sent_ids, numpy.arange(n_sents), side="right")
    return numpy.stack([starts, ends], axis=1).astype("int64").reshape(-1, 2)


def sample_rows(
    rng: numpy.random.Generator, candidates: numpy.ndarray, count: int
) -> numpy.ndarray:
    """Up to ``count`` rows of ``candidates``, drawn without replacement."""
    if len(candidates) <= count:
        return candidates
    keep = rng.choice(len(candidates), size=count, replace=False)
    return candidates[numpy.sort(keep)]


@dataclass
class DocTargets:
    """Gold annotation of one doc, in its own token positions."""

    spans: Ints2d  # (n, 2) start, end
    span_labels: Ints1d  # (n,) entity label index, 1-based (0 is "no entity")
    pairs: Ints2d  # (m, 2) indices into spans: head, tail
    pair_labels: numpy.ndarray  # (m, n_relation_labels) multi-hot


@dataclass
class CandidateBatch:
    """Spans (and, in training, pairs) to score for a batch of docs."""

    token_offsets: Ints1d  # (n_docs + 1,) cumulative doc lengths
    spans: Ints2d  # (S, 2) global start, end
    span_docs: Ints1d  # (S,) doc index
    span_sentences: Ints2d  # (S, 2) global start, end of the span's sentence
    span_sentence_ids: Ints1d  # (S,) batch-wide sentence index
    pairs: Optional[Ints2d] = None  # (P, 2) span indices: head, tail (training)
    span_targets: Optional[Ints1d] = None  # (S,) label index, 0 = none
    pair_targets: Optional[numpy.ndarray] = None  # (P, R) multi-hot
    given_types: Optional[Ints1d] = None  # (S,) labels of entities found upstream (inference)
    given_spans: Optional[list] = None  # (S,) their Spans
    token_sentence_ids: Optional[Ints1d] = None  # (T,) batch-wide sentence index of every token
    token_tags: Optional[Ints1d] = None  # (T,) gold BIO tag ids (training with a token stack)

    def doc_spans(self, i: int) -> Tuple[int, int]:
        """Row range of doc ``i``'s spans (spans are grouped by doc, in order)."""
        lo, hi = numpy.searchsorted(self.span_docs, [i, i + 1], side="left")
        return int(lo), int(hi)


def _sentence_tables(docs: Sequence[Doc]):
    lengths = numpy.array([len(doc) for doc in docs], dtype="int64")
    offsets = numpy.concatenate([[0], numpy.cumsum(lengths)]).astype("int64")
    sent_ids = [sentence_ids(doc) for doc in docs]
    return offsets, sent_ids


def _assemble(
    offsets: Ints1d, sent_ids: List[Ints1d], doc_spans: List[Ints2d]
) -> CandidateBatch:
    spans, span_docs, span_sents, span_sent_ids, token_sent_ids = [], [], [], [], []
    sent_base = 0
    for i, (ids, local) in enumerate(zip(sent_ids, doc_spans, strict=True)):
        bounds = sentence_bounds(ids)
        token_sent_ids.append(ids + sent_base)
        which = ids[local[:, 0]] if len(local) else numpy.zeros((0,), dtype="int64")
        spans.append(local + offsets[i])
        span_docs.append(numpy.full((len(local),), i, dtype="int64"))
        span_sents.append(bounds[which].reshape(-1, 2) + offsets[i])
        span_sent_ids.append(which + sent_base)
        sent_base += len(bounds)
    return CandidateBatch(
        token_offsets=offsets,
        spans=numpy.concatenate(spans).reshape(-1, 2).astype("int64") if spans else numpy.zeros((0, 2), "int64"),
        span_docs=numpy.concatenate(span_docs).astype("int64") if span_docs else numpy.zeros((0,), "int64"),
        span_sentences=(
            numpy.concatenate(span_sents).reshape(-1, 2).astype("int64") if span_sents else numpy.zeros((0, 2), "int64")
        ),
        span_sentence_ids=(
            numpy.concatenate(span_sent_ids).astype("int64") if span_sent_ids else numpy.zeros((0,), "int64")
        ),
        token_sentence_ids=(
            numpy.concatenate(token_sent_ids).astype("int64") if token_sent_ids else numpy.zeros((0,), "int64")
        ),
    )


def inference_candidates(docs: Sequence[Doc], suggested: Sequence[Ints2d]) -> CandidateBatch:
    """The suggested spans of every doc (doc-local (start, end) rows)."""
    offsets, sent_ids = _sentence_tables(docs)
    return _assemble(offsets, sent_ids, list(suggested))


def training_candidates(
    docs: Sequence[Doc],
    suggested: Sequence[Ints2d],
    targets: Sequence[DocTargets],
    neg_entity_count: Optional[int],
    neg_relation_count: int,
    rng: numpy.random.Generator,
    n_relation_labels: int,
    neg_per_gold: int = 0,
) -> CandidateBatch:
    """Gold spans plus negatives sampled from the suggested spans; gold pairs plus
    sampled negative pairs of gold entities (SpERT's sampling). Gold spans come first in
    each doc.

    neg_per_gold > 0 replaces the fixed counts by paper 001's dynamic sampling: a doc
    gets neg_per_gold negatives per gold entity (per gold relation for pairs), and at
    least neg_per_gold, so docs without gold items still teach "none".
    neg_entity_count None: every suggested span is a candidate (a span pruner ranks them)."""
    offsets, sent_ids = _sentence_tables(docs)
    doc_spans, span_targets, pairs, pair_targets = [], [], [], []
    n_spans_before = 0
    for ids, all_spans, gold in zip(sent_ids, suggested, targets, strict=True):
        if len(all_spans) and len(gold.spans):
            is_gold = _rows_in(all_spans, gold.spans)
            negatives = all_spans[~is_gold]
        else:
            negatives = all_spans
        span_count = neg_entity_count
        if neg_per_gold > 0:
            span_count = neg_per_gold * max(len(gold.spans), 1)
            neg_relation_count = neg_per_gold * max(len(gold.pairs), 1)
        if neg_entity_count is not None:
            negatives = sample_rows(rng, negatives, span_count)
        doc_spans.append(numpy.concatenate([gold.spans, negatives]).reshape(-1, 2).astype("int64"))
        span_targets.append(numpy.concatenate([gold.span_labels, numpy.zeros((len(negatives),), "int64")]))

        neg_pairs = _negative_pairs(gold, ids)
        neg_pairs = sample_rows(rng, neg_pairs, neg_relation_count)
        doc_pairs = numpy.concatenate([gold.pairs.reshape(-1, 2), neg_pairs]).astype("int64")
        pairs.append(doc_pairs + n_spans_before)
        pair_targets.append(
            numpy.concatenate([
                gold.pair_labels.reshape(len(gold.pairs), n_relation_labels),
                numpy.zeros((len(neg_pairs), n_relation_labels), "float32"),
            ])
        )
        n_spans_before += len(doc_spans[-1])
    batch = _assemble(offsets, sent_ids, doc_spans)
    batch.span_targets = numpy.concatenate(span_targets).astype("int64") if span_targets else numpy.zeros((0,), "int64")
    batch.pairs = numpy.concatenate(pairs).reshape(-1, 2).astype("int64") if pairs else numpy.zeros((0, 2), "int64")
    batch.pair_targets = (
        numpy.concatenate(pair_targets).astype("float32")
        if pair_targets else numpy.zeros((0, n_relation_labels), "float32")
    )
    return batch


def _rows_in(rows: Ints2d, table: Ints2d) -> numpy.ndarray:
    """Whether each (start, end) row of ``rows`` occurs in ``table``."""
    width = int(max(rows[:, 1].max(), table[:, 1].max())) + 1
    return numpy.isin(rows[:, 0] * width + rows[:, 1], table[:, 0] * width + table[:, 1])


def _negative_pairs(gold: DocTargets, sent_ids: Ints1d) -> Ints2d:
    """The pair rule's pairs of gold spans that hold no gold relation."""
    if len(gold.spans) < 2:
        return numpy.zeros((0, 2), dtype="int64")
    spans = torch.from_numpy(numpy.ascontiguousarray(gold.spans, dtype="int64"))
    heads, tails = sentence_pairs(spans, torch.from_numpy(sent_ids[gold.spans[:, 0]]))
    heads, tails = heads.numpy(), tails.numpy()
    if len(gold.pairs):
        n = len(gold.spans)
        keep = ~numpy.isin(heads * n + tails, gold.pairs[:, 0] * n + gold.pairs[:, 1])
        heads, tails = heads[keep], tails[keep]
    return numpy.stack([heads, tails], axis=1).astype("int64").reshape(-1, 2)
