"""Entities that other components found, and entities written for other components.

``entities_from``: the span_relation pipe can take its entities from ``doc.ents`` (a
spaCy ``ner`` or ``entity_ruler`` upstream) or from a span group (a ``spancat``) and
classify only the pairs between them. ``write_ents``: the pipe can also write its own
entities to ``doc.ents``, which does not allow overlaps, so the most confident of
overlapping entities win (``doc.spans`` keeps them all).
"""
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

import numpy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import filter_spans, registry

ENTS = "ents"


def source_spans(doc: Doc, source: str) -> List[Span]:
    """The entities another component set: ``doc.ents`` for "ents", else the span
    group ``doc.spans[source]`` (empty when the doc has none)."""
    if source == ENTS:
        return list(doc.ents)
    return list(doc.spans.get(source, []))


def given_candidates(docs: Sequence[Doc], source: str, label_ids: dict) -> Tuple[List[numpy.ndarray],
                                                                                 List[numpy.ndarray], List[List[Span]]]:
    """Per doc: (start, end) rows, 1-based label ids (0: a label the pipe was not
    trained on) and the Spans themselves, duplicates of the same tokens removed."""
    rows, labels, spans = [], [], []
    for doc in docs:
        seen, doc_spans = set(), []
        for span in source_spans(doc, source):
            if (span.start, span.end) not in seen and len(span):
                seen.add((span.start, span.end))
                doc_spans.append(span)
        rows.append(numpy.array([(s.start, s.end) for s in doc_spans], dtype="int64").reshape(-1, 2))
        labels.append(numpy.array([label_ids.get(s.label_, 0) for s in doc_spans], dtype="int64"))
        spans.append(doc_spans)
    return rows, labels, spans


def flat_by_confidence(spans: Sequence[Span], scores: Sequence[float]) -> List[Span]:
    """Non-overlapping spans: the most confident first, then each that overlaps none kept."""
    taken = set()
    kept = []
    for i in sorted(range(len(spans)), key=lambda i: (-scores[i], spans[i].start)):
        tokens = range(spans[i].start, spans[i].end)
        if not taken.intersection(tokens):
            taken.update(tokens)
            kept.append(spans[i])
    return sorted(kept, key=lambda s: s.start)


def write_ents(doc: Doc, spans: Sequence[Span], scores: Optional[Sequence[float]] = None) -> None:
    """Set ``doc.ents`` to the flat selection of ``spans``; entities already in
    ``doc.ents`` (another component's) are kept where they overlap none of ours."""
    ours = flat_by_confidence(spans, scores if scores is not None else [1.0] * len(spans))
    taken = {i for span in ours for i in range(span.start, span.end)}
    theirs = [e for e in doc.ents if not taken.intersection(range(e.start, e.end))]
    doc.ents = sorted(ours + theirs, key=lambda s: s.start)


@registry.augmenters("spacy_jere.entities_to_ents.v1")
def entities_to_ents(spans_key: str = "entities") -> Callable[[Language, Example], Iterator[Example]]:
    """A corpus augmenter that also sets the gold ``doc.ents`` from ``doc.spans[spans_key]``
    (flat: of overlapping entities the longest, then the first), so that a spaCy ``ner``
    can learn from corpora converted for span_relation (configs/upstream_ner.cfg)."""

    def augment(nlp: Language, example: Example) -> Iterator[Example]:
        reference = example.reference.copy()
        reference.ents = filter_spans(list(reference.spans.get(spans_key, [])))
        yield Example(example.predicted, reference)

    return augment
