"""DyGIE++ JSONL -> one Doc per document (one JSON object per line).

A document: {"doc_key", "dataset", "sentences": [[token, ...], ...],
"ner": [[[start, end, label], ...] per sentence],
"relations": [[[start1, end1, start2, end2, label], ...] per sentence]}.
Offsets count tokens from the start of the document and ``end`` is inclusive. Tokens
are kept as they are (spaces unknown, like SpERT JSON); each sentence starts a sentence."""
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from spacy.tokens import Doc
from spacy.vocab import Vocab

from .annotations import annotate
from .doc_meta import DATASET_KEY, set_doc_id
from .errors import ConversionError
from .loading import load_jsonl
from .stats import ConversionStats

OFFSETS = "DyGIE++ offsets count tokens from the start of the document and end is inclusive"
CLUSTERS = "coreference clusters (DyGIE++ 'clusters'): not used"
EVENTS = "events (DyGIE++ 'events'): not used"
PREDICTED = "DyGIE++ predicted_* fields (model output, not gold): not used"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sentence_problems(sentences) -> List[str]:
    if not isinstance(sentences, list) or not sentences:
        return ["sentences: missing or not a non-empty list of token lists"]
    problems = []
    for i, sentence in enumerate(sentences):
        if not isinstance(sentence, list) or not sentence:
            problems.append(f"sentences[{i}]: not a non-empty list of tokens")
            continue
        bad = next((j for j, token in enumerate(sentence) if not isinstance(token, str) or not token.strip()), None)
        if bad is not None:
            problems.append(f"sentences[{i}][{bad}]: {sentence[bad]!r} is not a non-empty string")
    return problems


def _per_sentence(record: dict, key: str, n_sentences: int) -> Tuple[Optional[list], List[str]]:
    value = record.get(key)
    if value is None:
        return [[] for _ in range(n_sentences)], []
    if not isinstance(value, list) or len(value) != n_sentences or not all(isinstance(v, list) for v in value):
        got = f"{len(value)} items" if isinstance(value, list) else type(value).__name__
        return None, [f"{key}: expected one list per sentence ({n_sentences}), got {got}"]
    return value, []


def _ner_problems(ner: list, bounds: List[Tuple[int, int]]) -> List[str]:
    problems = []
    for i, items in enumerate(ner):
        lo, hi = bounds[i]
        for j, item in enumerate(items):
            where = f"ner[{i}][{j}]"
            if not (isinstance(item, list) and len(item) == 3 and _is_int(item[0]) and _is_int(item[1])
                    and isinstance(item[2], str) and item[2]):
                problems.append(f"{where}: expected [start, end, label], got {item!r}")
            elif not lo <= item[0] <= item[1] < hi:
                problems.append(f"{where}: tokens [{item[0]}, {item[1]}] are not inside sentence {i} "
                                f"(tokens {lo}..{hi - 1}); {OFFSETS}")
    return problems


def _relation_problems(relations: list, entity_spans: set) -> List[str]:
    problems = []
    for i, items in enumerate(relations):
        for j, item in enumerate(items):
            where = f"relations[{i}][{j}]"
            if not (isinstance(item, list) and len(item) == 5 and all(_is_int(v) for v in item[:4])
                    and isinstance(item[4], str) and item[4]):
                problems.append(f"{where}: expected [start1, end1, start2, end2, label], got {item!r}")
                continue
            for start, end in (item[0:2], item[2:4]):
                if (start, end) not in entity_spans:
                    problems.append(f"{where}: argument [{start}, {end}] is not an entity in ner; {OFFSETS}")
    return problems


def _bounds(sentences: list) -> List[Tuple[int, int]]:
    bounds, start = [], 0
    for sentence in sentences:
        bounds.append((start, start + len(sentence)))
        start += len(sentence)
    return bounds


def validate_document(record) -> List[str]:
    """Problems of one DyGIE++ document, each as 'field: reason'."""
    if not isinstance(record, dict):
        return [f"expected a JSON object, got {type(record).__name__}"]
    problems = _sentence_problems(record.get("sentences"))
    if problems:
        return problems
    bounds = _bounds(record["sentences"])
    ner, problems = _per_sentence(record, "ner", len(bounds))
    relations, more = _per_sentence(record, "relations", len(bounds))
    problems += more
    if ner is not None:
        problems += _ner_problems(ner, bounds)
    if relations is not None and ner is not None and not problems:
        problems += _relation_problems(relations, {(s, e) for items in ner for s, e, _ in items})
    return problems


def _count_unused(record: dict, where: str, stats: ConversionStats) -> None:
    clusters = record.get("clusters") or []  # a list of clusters for the document
    events = record.get("events") or []  # a list of events per sentence
    if isinstance(clusters, list) and clusters:
        stats.skip(CLUSTERS, where, len(clusters))
    n_events = sum(len(items) for items in events if isinstance(items, list)) if isinstance(events, list) else 0
    if n_events:
        stats.skip(EVENTS, where, n_events)
    if any(key.startswith("predicted_") for key in record):
        stats.skip(PREDICTED, where)


def document_to_doc(vocab: Vocab, record: dict, spans_key: str, stats: ConversionStats, where: str) -> Doc:
    """A validated DyGIE++ document as a Doc with its sentence boundaries."""
    sentences = record["sentences"]
    sent_starts = [i == 0 for sentence in sentences for i in range(len(sentence))]
    doc = Doc(vocab, words=[token for sentence in sentences for token in sentence], sent_starts=sent_starts)
    set_doc_id(doc, record.get("doc_key"))
    if "dataset" in record:
        doc.user_data[DATASET_KEY] = record["dataset"]
    entities = [(s, e + 1, label) for items in record.get("ner") or [] for s, e, label in items]
    first: Dict[Tuple[int, int], int] = {}
    for i, (s, e, _) in enumerate(entities):
        first.setdefault((s, e - 1), i)
    relations = [(first[(s1, e1)], first[(s2, e2)], label)
                 for items in record.get("relations") or [] for s1, e1, s2, e2, label in items]
    annotate(doc, entities, relations, spans_key, stats, where)
    _count_unused(record, where, stats)
    return doc


def read_dygiepp(
    path: Path, vocab: Vocab, spans_key: str = "entities", encoding: str = "utf-8"
) -> Tuple[List[Doc], ConversionStats]:
    """Validate every document of a DyGIE++ JSONL file, then convert them all."""
    records = load_jsonl(path, encoding)
    problems = []
    for number, record in records:
        key = f" (doc_key {record['doc_key']!r})" if isinstance(record, dict) and "doc_key" in record else ""
        problems += [f"line {number}{key}: {p}" for p in validate_document(record)]
    if problems:
        raise ConversionError(path, problems, len(records), "documents")
    stats = ConversionStats()
    docs = [document_to_doc(vocab, record, spans_key, stats, f"line {number}") for number, record in records]
    return docs, stats
