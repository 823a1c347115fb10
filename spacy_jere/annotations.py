"""The net's decisions onto docs: entities into a span group (and ``doc.ents``), relations
into ``doc._.relations``, the token stack's tags into ``doc._.jere_tags`` and a span group."""
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc, Span, SpanGroup

from .candidates import CandidateBatch
from .entity_sources import write_ents
from .relations import Relation
from .tagging import TagScheme


def decoded_docs(docs: Sequence[Doc], candidates: CandidateBatch, output: dict, entity_labels: Sequence[str],
                 relation_labels: Sequence[str]) -> Iterator[Tuple[List[Span], List[float], List[Relation]]]:
    """Per doc: its entities, their confidences and its relations, from the host arrays
    of the net's output (rows of ``candidates``). Given entities (``entities_from``) are
    the candidates themselves."""
    labels, confidence, pairs = output["entity_labels"], output["entity_scores"], output["pairs"]
    rel_rows = output["relation_rows"]
    rel_docs = candidates.span_docs[pairs[rel_rows, 0]] if len(rel_rows) else numpy.zeros((0,), "int64")
    for i, doc in enumerate(docs):
        lo, hi = candidates.doc_spans(i)
        entities: Dict[int, Span] = {}
        if candidates.given_spans is not None:
            entities = {row: candidates.given_spans[row] for row in range(lo, hi)}
        else:
            offset = candidates.token_offsets[i]
            for row in lo + numpy.flatnonzero(labels[lo:hi] > 0):
                start, end = candidates.spans[row] - offset
                entities[row] = Span(doc, int(start), int(end), label=entity_labels[labels[row] - 1])
        in_doc = rel_docs == i
        relations = [
            Relation(entities[pairs[row, 0]], entities[pairs[row, 1]], relation_labels[label], float(score))
            for row, label, score in zip(rel_rows[in_doc], output["relation_labels"][in_doc],
                                         output["relation_scores"][in_doc], strict=True)
        ]
        yield list(entities.values()), [float(confidence[row]) for row in entities], relations


def write_entities(doc: Doc, key: str, spans: List[Span], scores: List[float], to_ents: bool) -> None:
    """The entities in ``doc.spans[key]`` with their scores (``attrs["scores"]``), and in
    ``doc.ents`` too if asked (overlaps: the most confident win)."""
    doc.spans[key] = SpanGroup(doc, name=key, spans=spans, attrs={"scores": scores})
    if to_ents:
        write_ents(doc, spans, scores)


def write_tags(doc: Doc, key: str, scheme: Optional[TagScheme], tag_ids: Optional[numpy.ndarray],
               sentence_ids: Optional[numpy.ndarray]) -> None:
    """The token stack's tags in ``doc._.jere_tags`` (None without a prediction) and the
    entities they spell in ``doc.spans[key]``; a sentence start ends an open entity."""
    if tag_ids is None:
        doc._.jere_tags = None
        doc.spans[key] = SpanGroup(doc, name=key)
        return
    doc._.jere_tags = [scheme.tags[tag] for tag in tag_ids.tolist()]
    starts = numpy.concatenate([[True], sentence_ids[1:] != sentence_ids[:-1]]) if len(sentence_ids) else []
    spans = [Span(doc, start, end, label=label) for start, end, label in scheme.decode(tag_ids, starts)]
    doc.spans[key] = SpanGroup(doc, name=key, spans=spans)
