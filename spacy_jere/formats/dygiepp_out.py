"""Docs -> DyGIE++ JSONL: one document per Doc, its sentences from the Doc's sentence
boundaries, offsets counted from the start of the document with inclusive ends. An
entity goes into the sentence of its first token, a relation into its head's."""
import json
from collections import Counter
from pathlib import Path
from typing import Iterable, List, Optional

import numpy
from spacy.tokens import Doc

from ..relations import get_relations
from .doc_meta import DATASET_KEY, get_doc_id
from .sentences import sentence_ids
from .spert_out import WHITESPACE_ENTITY
from .token_map import output_tokens


def doc_to_document(doc: Doc, number: int, spans_key: str = "entities", dropped: Optional[Counter] = None) -> dict:
    dropped = Counter() if dropped is None else dropped
    tokens = output_tokens(doc)
    kept_sents = sentence_ids(doc)[tokens.keep]
    # Renumber so that sentences made only of whitespace tokens disappear.
    out_sent = numpy.concatenate([[0], numpy.cumsum(numpy.diff(kept_sents) != 0)]) if len(kept_sents) else kept_sents
    starts = numpy.flatnonzero(numpy.diff(out_sent, prepend=-1)).tolist() + [len(tokens.words)]
    sentences = [tokens.words[a:b] for a, b in zip(starts, starts[1:], strict=False)]
    ner: List[list] = [[] for _ in sentences]
    relations: List[list] = [[] for _ in sentences]
    for span in doc.spans.get(spans_key, []):
        bounds = tokens.span(span)
        if bounds is None:
            dropped[WHITESPACE_ENTITY] += 1
            continue
        ner[int(out_sent[bounds[0]])].append([bounds[0], bounds[1] - 1, span.label_])
    for rel in get_relations(doc):
        head, tail = tokens.span(rel.head), tokens.span(rel.tail)
        if head is None or tail is None:
            dropped[WHITESPACE_ENTITY] += 1
            continue
        relations[int(out_sent[head[0]])].append([head[0], head[1] - 1, tail[0], tail[1] - 1, rel.label])
    doc_id = get_doc_id(doc)
    document = {"doc_key": doc_id if doc_id is not None else f"doc{number}"}
    if DATASET_KEY in doc.user_data:
        document["dataset"] = doc.user_data[DATASET_KEY]
    document.update(sentences=sentences, ner=ner, relations=relations)
    return document


def write_dygiepp(docs: Iterable[Doc], path: Path, spans_key: str = "entities") -> Counter:
    dropped: Counter = Counter()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w", encoding="utf8") as out:
        for number, doc in enumerate(docs):
            out.write(json.dumps(doc_to_document(doc, number, spans_key, dropped), ensure_ascii=False) + "\n")
    return dropped
