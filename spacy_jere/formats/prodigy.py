"""Prodigy ``rel.manual`` JSONL -> one Doc per accepted task.

A task: {"text", "tokens": [{"text", "start", "end", "id", "ws"}], "spans": [{"start",
"end", "token_start", "token_end", "label"}], "relations": [{"head", "child", "head_span",
"child_span", "label"}], "answer"}; ``token_end`` is inclusive, ``start``/``end`` are
characters. Only ``"answer": "accept"`` tasks are used; the others are counted. Without
``tokens`` the text is tokenized here and spans are aligned by character offsets."""
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc

from .annotations import annotate
from .char_alignment import char_to_tokens
from .doc_meta import set_doc_id
from .errors import ConversionError
from .loading import load_jsonl
from .sentences import keep_entities_whole, set_sentences
from .stats import ConversionStats

NOT_ACCEPTED = {
    "reject": "rejected tasks (answer 'reject')",
    "ignore": "ignored tasks (answer 'ignore')",
}
NO_ANSWER = "tasks without an answer (not annotated)"
UNLABELLED_SPAN = "span without a label"
UNLABELLED_ARGUMENT = "relation whose argument is a token without an entity label"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _make_doc(nlp: Language, record: dict) -> Union[Doc, str]:
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        return "text: missing or empty"
    tokens = record.get("tokens")
    if tokens is None:
        return nlp.make_doc(text)
    if not isinstance(tokens, list) or not all(isinstance(t, dict) and isinstance(t.get("text"), str) for t in tokens):
        return "tokens: expected a list of {text, start, end, id, ws} objects"
    doc = Doc(nlp.vocab, words=[t["text"] for t in tokens], spaces=[bool(t.get("ws", True)) for t in tokens])
    spelled = doc.text
    if spelled != text:
        pairs = enumerate(zip(spelled, text, strict=False))
        at = next((i for i, (a, b) in pairs if a != b), min(len(spelled), len(text)))
        return (f"tokens: their text and 'ws' spell a different text from 'text' (first difference at character "
                f"{at}); fix the tokens or drop them to let spacy-jere tokenize the text")
    return doc


def _span_tokens(doc: Doc, text: str, span, where: str, has_tokens: bool, stats) -> Union[Tuple[int, int], str]:
    if not isinstance(span, dict):
        return f"{where}: expected an object"
    start, end = span.get("token_start"), span.get("token_end")
    if has_tokens and _is_int(start) and _is_int(end):
        if not 0 <= start <= end < len(doc):
            return f"{where}: token_start/token_end [{start}, {end}] out of range for {len(doc)} tokens (end inclusive)"
        return start, end + 1
    if _is_int(span.get("start")) and _is_int(span.get("end")):
        return char_to_tokens(doc, text, span["start"], span["end"], where, stats)
    return f"{where}: needs token_start/token_end (with tokens) or start/end character offsets"


def _entities(doc, record, where, has_tokens, stats, problems) -> Tuple[List, Dict]:
    entities, index = [], {}
    spans = record.get("spans") or []
    if not isinstance(spans, list):
        problems.append(f"{where}: spans: not a list")
        return entities, index
    for i, span in enumerate(spans):
        tokens = _span_tokens(doc, record["text"], span, f"{where}: spans[{i}]", has_tokens, stats)
        if isinstance(tokens, str):
            problems.append(tokens)
        elif not isinstance(span.get("label"), str) or not span["label"]:
            stats.skip(UNLABELLED_SPAN, f"{where}: spans[{i}]")
        else:
            index.setdefault(tokens, len(entities))
            entities.append((*tokens, span["label"]))
    return entities, index


def _argument(doc, text, rel, role, entities, index, where, has_tokens, stats) -> Union[int, str, None]:
    """Entity index of a relation argument, a problem, or None (skipped)."""
    span = rel.get(f"{role}_span")
    scratch = ConversionStats()  # an argument that is one of the spans was counted with it
    tokens = _span_tokens(doc, text, span, f"{where}.{role}_span", has_tokens, scratch)
    if isinstance(tokens, str) or tokens in index:
        return tokens if isinstance(tokens, str) else index[tokens]
    if not isinstance(span.get("label"), str) or not span["label"]:
        return None
    index[tokens] = len(entities)  # labelled in the relation but missing from "spans"
    entities.append((*tokens, span["label"]))
    stats.expanded_entities += scratch.expanded_entities
    stats.notes += scratch.notes
    return index[tokens]


def _relations(doc, record, where, entities, index, has_tokens, stats, problems) -> List:
    relations = []
    items = record.get("relations") or []
    for i, rel in enumerate(items if isinstance(items, list) else []):
        rwhere = f"{where}: relations[{i}]"
        if not isinstance(rel, dict) or not isinstance(rel.get("label"), str) or not rel["label"]:
            problems.append(f"{rwhere}: expected an object with a label, head_span and child_span")
            continue
        args = [_argument(doc, record["text"], rel, role, entities, index, rwhere, has_tokens, stats)
                for role in ("head", "child")]
        bad = [arg for arg in args if isinstance(arg, str)]
        if bad:
            problems += bad
        elif None in args:
            stats.skip(UNLABELLED_ARGUMENT, rwhere)
        else:
            relations.append((args[0], args[1], rel["label"]))
    return relations


def task_to_doc(nlp, record: dict, where: str, spans_key: str, sentences: str, stats) -> Tuple[Optional[Doc], List]:
    doc = _make_doc(nlp, record)
    if isinstance(doc, str):
        return None, [f"{where}: {doc}"]
    problems: List[str] = []
    has_tokens = record.get("tokens") is not None
    entities, index = _entities(doc, record, where, has_tokens, stats, problems)
    relations = _relations(doc, record, where, entities, index, has_tokens, stats, problems)
    if problems:
        return None, problems
    set_sentences(doc, sentences)
    stats.sentence_starts_removed += keep_entities_whole(doc, [(s, e) for s, e, _ in entities])
    meta = record.get("meta")
    set_doc_id(doc, meta.get("id") if isinstance(meta, dict) else None)
    annotate(doc, entities, relations, spans_key, stats, where)
    return doc, []


def read_prodigy(
    path: Path, nlp: Language, spans_key: str = "entities", sentences: str = "none", encoding: str = "utf-8"
) -> Tuple[List[Doc], ConversionStats]:
    records = load_jsonl(path, encoding)
    stats = ConversionStats()
    docs, problems = [], []
    for number, record in records:
        where = f"line {number}"
        if not isinstance(record, dict):
            problems.append(f"{where}: expected a JSON object, got {type(record).__name__}")
            continue
        answer = record.get("answer")
        if answer != "accept":
            stats.skip(NOT_ACCEPTED.get(answer) or (f"tasks with answer {answer!r}" if answer else NO_ANSWER))
            continue
        doc, doc_problems = task_to_doc(nlp, record, where, spans_key, sentences, stats)
        problems += doc_problems
        if doc is not None:
            docs.append(doc)
    if problems:
        raise ConversionError(path, problems, len(records), "tasks")
    return docs, stats
