"""Docs -> SpERT JSON: one record per Doc (all its sentences), ``orig_id`` from the
input's id when known. Whitespace tokens are left out (SpERT tokens are words)."""
import json
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from spacy.tokens import Doc, Span

from ..relations import get_relations
from .doc_meta import get_doc_id
from .token_map import output_tokens

WHITESPACE_ENTITY = "entity made only of whitespace tokens (and its relations)"


def doc_to_record(doc: Doc, spans_key: str = "entities", dropped: Optional[Counter] = None) -> dict:
    dropped = Counter() if dropped is None else dropped
    tokens = output_tokens(doc)
    entities: List[dict] = []
    index: Dict[Tuple[int, int, str], int] = {}

    def entity(span: Span) -> Optional[int]:
        key = (span.start, span.end, span.label_)
        if key not in index:
            bounds = tokens.span(span)
            if bounds is None:
                return None
            index[key] = len(entities)
            entities.append({"type": span.label_, "start": bounds[0], "end": bounds[1]})
        return index[key]

    for span in doc.spans.get(spans_key, []):
        if entity(span) is None:
            dropped[WHITESPACE_ENTITY] += 1
    relations = []
    for rel in get_relations(doc):
        head, tail = entity(rel.head), entity(rel.tail)
        if head is None or tail is None:
            dropped[WHITESPACE_ENTITY] += 1
            continue
        relations.append({"type": rel.label, "head": head, "tail": tail})
    record = {"tokens": tokens.words, "entities": entities, "relations": relations}
    if get_doc_id(doc) is not None:
        record["orig_id"] = get_doc_id(doc)
    return record


def write_spert(docs: Iterable[Doc], path: Path, spans_key: str = "entities") -> Counter:
    """Write the docs; what was left out, by reason."""
    dropped: Counter = Counter()
    records = [doc_to_record(doc, spans_key, dropped) for doc in docs]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(records, ensure_ascii=False) + "\n", encoding="utf8")
    return dropped
