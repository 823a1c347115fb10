"""SpERT JSON -> spaCy Docs, with every record validated first; and ``convert_file``,
any supported corpus (``spacy_jere.formats``) -> a DocBin.

A record: {"tokens": [...], "entities": [{"type", "start", "end"}],
"relations": [{"type", "head", "tail"}], "orig_id": ...}; ``end`` is exclusive and
``head``/``tail`` index the record's ``entities``.
"""
from pathlib import Path
from typing import Iterable, List, Optional, Set, Tuple

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from .formats.annotations import annotate
from .formats.doc_meta import set_doc_id
from .formats.errors import ConversionError
from .formats.loading import load_json
from .formats.stats import ConversionStats

__all__ = ["ConversionError", "ConversionStats", "convert_file", "read_spert_json", "write_docbin"]


def load_types(path: Path) -> Tuple[Set[str], Set[str]]:
    """Entity and relation type names from a SpERT ``types.json``."""
    data = load_json(path)
    if not isinstance(data, dict) or not all(isinstance(data.get(key), dict) for key in ("entities", "relations")):
        raise ConversionError(path, ["types file: expected an object with 'entities' and 'relations' objects"])
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
    tokens = record["tokens"]
    doc = Doc(vocab, words=tokens, sent_starts=[True] + [False] * (len(tokens) - 1))
    set_doc_id(doc, record.get("orig_id"))
    entities = [(ent["start"], ent["end"], ent["type"]) for ent in record.get("entities", [])]
    relations = [(rel["head"], rel["tail"], rel["type"]) for rel in record.get("relations", [])]
    annotate(doc, entities, relations, spans_key, stats)
    return doc


def _where(i: int, record) -> str:
    orig = f" (orig_id {record.get('orig_id')!r})" if isinstance(record, dict) and "orig_id" in record else ""
    return f"record {i}{orig}"


def read_spert_json(
    path: Path,
    vocab: Vocab,
    spans_key: str = "entities",
    types_path: Optional[Path] = None,
    encoding: str = "utf-8",
) -> Tuple[List[Doc], ConversionStats]:
    """Validate every record of a SpERT JSON file, then convert them all.
    Raises ConversionError listing every bad record (index, orig_id, field, reason)."""
    path = Path(path)
    records = load_json(path, encoding)
    if not isinstance(records, list):
        found = f"an object with keys {sorted(records)[:8]}" if isinstance(records, dict) else type(records).__name__
        raise ConversionError(path, [f"top level: expected a list of records, found {found}"])
    entity_types = relation_types = None
    if types_path is not None:
        entity_types, relation_types = load_types(types_path)
    problems = []
    for i, record in enumerate(records):
        problems += [f"{_where(i, record)}: {p}" for p in validate_record(record, entity_types, relation_types)]
    if problems:
        raise ConversionError(path, problems, len(records))
    stats = ConversionStats()
    docs = [record_to_doc(vocab, record, spans_key, stats) for record in records]
    return docs, stats


def write_docbin(docs: Iterable[Doc], output_path: Path) -> None:
    doc_bin = DocBin(store_user_data=True)
    for doc in docs:
        doc_bin.add(doc)
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    doc_bin.to_disk(output_path)


def convert_file(
    input_path: Path,
    output_path: Path,
    spans_key: str = "entities",
    types_path: Optional[Path] = None,
    **options,
) -> ConversionStats:
    """Read a corpus (SpERT JSON unless ``format=`` says otherwise; see
    ``spacy_jere.formats.read.read_corpus`` for the options) and write it as a DocBin.
    Nothing is written when the input has problems or holds no documents."""
    from .formats.read import read_corpus  # here: formats.read imports this module

    options.setdefault("format", "spert")
    docs, stats, _ = read_corpus(input_path, spans_key=spans_key, types_path=types_path, **options)
    write_docbin(docs, output_path)
    return stats
