"""SpERT JSON -> spaCy Docs, with every record validated first.

A record: {"tokens": [...], "entities": [{"type", "start", "end"}],
"relations": [{"type", "head", "tail"}], "orig_id": ...}; ``end`` is exclusive and
``head``/``tail`` index the record's ``entities``.
"""
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab

from .relations import Relation, set_relations


class ConversionError(ValueError):
    def __init__(self, path: Path, problems: List[str], n_records: int):
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(
            f"{path}: {len(problems)} problem(s) in {n_records} records; nothing was written.\n{shown}{more}"
        )


@dataclass
class ConversionStats:
    docs: int = 0
    tokens: int = 0
    entities: int = 0
    relations: int = 0
    merged_duplicate_entities: int = 0
    merged_duplicate_relations: int = 0
    entity_types: Counter = field(default_factory=Counter)
    relation_types: Counter = field(default_factory=Counter)


def load_types(path: Path) -> Tuple[Set[str], Set[str]]:
    """Entity and relation type names from a SpERT ``types.json``."""
    data = json.loads(Path(path).read_text(encoding="utf8"))
    if not isinstance(data, dict) or not all(isinstance(data.get(key), dict) for key in ("entities", "relations")):
        raise ValueError(f"{path}: expected an object with 'entities' and 'relations' objects")
    return set(data["entities"]), set(data["relations"])


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _token_problems(tokens: list) -> List[str]:
    problems = [] if tokens else ["tokens: empty list (a record needs at least one token)"]
    for i, token in enumerate(tokens):
        if not isinstance(token, str) or not token.strip():
            problems.append(f"tokens[{i}]: {token!r} is not a non-empty string")
    return problems


def _type_problems(where: str, value, known: Optional[Set[str]], kind: str) -> List[str]:
    """The ``type`` field of an entity or relation (``kind``)."""
    if not isinstance(value, str) or not value:
        return [f"{where}.type: missing or not a string"]
    if known is not None and value not in known:
        return [f"{where}.type: unknown {kind} type {value!r} (not in the types file)"]
    return []


def _entity_problems(where: str, ent, n_tokens: int, entity_types: Optional[Set[str]]) -> List[str]:
    if not isinstance(ent, dict):
        return [f"{where}: expected an object"]
    problems = _type_problems(where, ent.get("type"), entity_types, "entity")
    start, end = ent.get("start"), ent.get("end")
    if not _is_int(start) or not _is_int(end):
        problems.append(f"{where}: start/end must be integers, got {start!r}/{end!r}")
    elif not 0 <= start < end <= n_tokens:
        problems.append(
            f"{where}: offsets [{start}, {end}) out of range for {n_tokens} tokens "
            f"(need 0 <= start < end <= {n_tokens})"
        )
    return problems


def _relation_problems(where: str, rel, n_entities: int, relation_types: Optional[Set[str]]) -> List[str]:
    if not isinstance(rel, dict):
        return [f"{where}: expected an object"]
    problems = _type_problems(where, rel.get("type"), relation_types, "relation")
    for role in ("head", "tail"):
        value = rel.get(role)
        if not _is_int(value) or not 0 <= value < n_entities:
            problems.append(f"{where}.{role}: {value!r} is not an index into entities (0..{n_entities - 1})")
    if _is_int(rel.get("head")) and rel.get("head") == rel.get("tail"):
        problems.append(f"{where}: head and tail are the same entity ({rel['head']})")
    return problems


def validate_record(
    record, entity_types: Optional[Set[str]] = None, relation_types: Optional[Set[str]] = None
) -> List[str]:
    """Problems of one record, each as 'field: reason'."""
    if not isinstance(record, dict):
        return [f"record: expected an object, got {type(record).__name__}"]
    tokens = record.get("tokens")
    if not isinstance(tokens, list):
        return ["tokens: missing or not a list"]
    problems = _token_problems(tokens)
    entities = record.get("entities", [])
    if not isinstance(entities, list):
        return problems + ["entities: not a list"]
    for i, ent in enumerate(entities):
        problems += _entity_problems(f"entities[{i}]", ent, len(tokens), entity_types)
    relations = record.get("relations", [])
    if not isinstance(relations, list):
        return problems + ["relations: not a list"]
    for i, rel in enumerate(relations):
        problems += _relation_problems(f"relations[{i}]", rel, len(entities), relation_types)
    return problems


def record_to_doc(vocab: Vocab, record: dict, spans_key: str, stats: ConversionStats) -> Doc:
    """A validated record as a one-sentence Doc. Spaces are left unknown, so spaCy's
    corpus reader keeps these tokens instead of re-tokenizing the text."""
    doc = Doc(vocab, words=record["tokens"])
    for i, token in enumerate(doc):
        token.is_sent_start = i == 0
    spans: List[Span] = []
    index_of: Dict[Tuple[int, int, str], int] = {}
    entity_index: List[int] = []
    for ent in record.get("entities", []):
        key = (ent["start"], ent["end"], ent["type"])
        if key in index_of:
            stats.merged_duplicate_entities += 1
        else:
            index_of[key] = len(spans)
            spans.append(Span(doc, ent["start"], ent["end"], label=ent["type"]))
            stats.entity_types[ent["type"]] += 1
        entity_index.append(index_of[key])
    doc.spans[spans_key] = spans
    relations = []
    seen = set()
    for rel in record.get("relations", []):
        head, tail = spans[entity_index[rel["head"]]], spans[entity_index[rel["tail"]]]
        key = (head.start, head.end, head.label_, tail.start, tail.end, tail.label_, rel["type"])
        if key in seen:
            stats.merged_duplicate_relations += 1
            continue
        seen.add(key)
        relations.append(Relation(head, tail, rel["type"]))
        stats.relation_types[rel["type"]] += 1
    set_relations(doc, relations)
    stats.docs += 1
    stats.tokens += len(doc)
    stats.entities += len(spans)
    stats.relations += len(relations)
    return doc


def read_spert_json(
    path: Path,
    vocab: Vocab,
    spans_key: str = "entities",
    types_path: Optional[Path] = None,
) -> Tuple[List[Doc], ConversionStats]:
    """Validate every record of a SpERT JSON file, then convert them all.
    Raises ConversionError listing every bad record (index, orig_id, field, reason)."""
    path = Path(path)
    try:
        records = json.loads(path.read_text(encoding="utf8"))
    except json.JSONDecodeError as err:
        raise ConversionError(path, [f"not valid JSON: {err}"], 0) from None
    if not isinstance(records, list):
        raise ConversionError(path, ["top level: expected a list of records"], 0)
    entity_types = relation_types = None
    if types_path is not None:
        entity_types, relation_types = load_types(types_path)
    problems = []
    for i, record in enumerate(records):
        orig = f" (orig_id {record.get('orig_id')!r})" if isinstance(record, dict) and "orig_id" in record else ""
        problems += [f"record {i}{orig}: {p}" for p in validate_record(record, entity_types, relation_types)]
    if problems:
        raise ConversionError(path, problems, len(records))
    stats = ConversionStats()
    docs = [record_to_doc(vocab, record, spans_key, stats) for record in records]
    return docs, stats


def convert_file(
    input_path: Path, output_path: Path, spans_key: str = "entities", types_path: Optional[Path] = None
) -> ConversionStats:
    docs, stats = read_spert_json(input_path, Vocab(), spans_key, types_path)
    doc_bin = DocBin(store_user_data=True)
    for doc in docs:
        doc_bin.add(doc)
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    doc_bin.to_disk(output_path)
    return stats
