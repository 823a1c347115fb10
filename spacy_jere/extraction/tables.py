"""Annotated Docs -> rows of the four output tables, and the tables' schema.

``annotations(doc, source)`` runs where the pipeline runs (this process, a spaCy worker
or a Ray actor) and returns plain lists, so that it can travel between processes;
``part_tables`` turns the entries of one part, with their annotations, into rows. Both
engines call the same two functions, so their tables are the same.
"""
from typing import Dict, Iterable, List, Optional, Tuple

# Column name and Arrow type of every table (JSONL output has the same keys).
SCHEMA: Dict[str, List[Tuple[str, str]]] = {
    "docs": [
        ("doc_id", "string"), ("source", "string"), ("line", "int64"), ("n_chars", "int64"), ("n_tokens", "int64"),
        ("n_entities", "int64"), ("n_relations", "int64"), ("meta", "string"),
    ],
    "entities": [
        ("doc_id", "string"), ("start_char", "int64"), ("end_char", "int64"), ("text", "string"),
        ("label", "string"), ("score", "float64"),
    ],
    "relations": [
        ("doc_id", "string"),
        ("head_start", "int64"), ("head_end", "int64"), ("head_label", "string"), ("head_text", "string"),
        ("tail_start", "int64"), ("tail_end", "int64"), ("tail_label", "string"), ("tail_text", "string"),
        ("label", "string"), ("score", "float64"),
    ],
    "skipped": [
        ("doc_id", "string"), ("source", "string"), ("line", "int64"), ("reason", "string"), ("detail", "string"),
    ],
}
TABLES = tuple(SCHEMA)

# Where the entities are: ("spans", key) or ("ents", None).
EntitySource = Tuple[str, Optional[str]]


def _entities(doc, source: EntitySource):
    """(span, score or None) pairs of the doc's entities."""
    kind, key = source
    if kind == "ents":
        return [(span, None) for span in doc.ents]
    group = doc.spans.get(key)
    if group is None:
        return []
    scores = group.attrs.get("scores")
    if scores is None or len(scores) != len(group):
        scores = [None] * len(group)
    return list(zip(group, scores, strict=True))


def annotations(doc, source: EntitySource) -> dict:
    """The entities and relations of one annotated Doc, as plain values (character offsets)."""
    entities = [
        [span.start_char, span.end_char, span.text, span.label_, None if score is None else float(score)]
        for span, score in _entities(doc, source)
    ]
    relations = [
        [rel.head.start_char, rel.head.end_char, rel.head.label_, rel.head.text,
         rel.tail.start_char, rel.tail.end_char, rel.tail.label_, rel.tail.text, rel.label, float(rel.score)]
        for rel in doc._.relations
    ]
    entities.sort(key=lambda row: row[:4])
    relations.sort(key=lambda row: row[:9])
    return {"n_chars": len(doc.text), "n_tokens": len(doc), "entities": entities, "relations": relations}


def _skipped_row(entry: dict) -> dict:
    return {"doc_id": entry["doc_id"], "source": entry["source"], "line": entry["line"],
            "reason": entry["reason"], "detail": entry["detail"]}


def part_tables(entries: Iterable[dict]) -> Dict[str, List[dict]]:
    """Rows of every table for one part. Each entry has ``kind`` ("doc" or "skip"),
    ``doc_id``, ``source``, ``line``, and ``meta`` and ``result`` (``annotations``) for a
    doc, ``reason`` and ``detail`` for a skip."""
    tables: Dict[str, List[dict]] = {name: [] for name in TABLES}
    for entry in entries:
        if entry["kind"] != "doc":
            tables["skipped"].append(_skipped_row(entry))
            continue
        doc_id, result = entry["doc_id"], entry["result"]
        tables["docs"].append({
            "doc_id": doc_id, "source": entry["source"], "line": entry["line"], "n_chars": result["n_chars"],
            "n_tokens": result["n_tokens"], "n_entities": len(result["entities"]),
            "n_relations": len(result["relations"]), "meta": entry["meta"],
        })
        for start, end, text, label, score in result["entities"]:
            tables["entities"].append({"doc_id": doc_id, "start_char": start, "end_char": end, "text": text,
                                       "label": label, "score": score})
        for hs, he, hl, ht, ts, te, tl, tt, label, score in result["relations"]:
            tables["relations"].append({
                "doc_id": doc_id, "head_start": hs, "head_end": he, "head_label": hl, "head_text": ht,
                "tail_start": ts, "tail_end": te, "tail_label": tl, "tail_text": tt, "label": label, "score": score,
            })
    return tables
