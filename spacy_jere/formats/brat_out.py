"""Docs -> a BRAT folder: ``NAME.txt`` (the Doc's text) + ``NAME.ann`` (T and R lines)
per Doc, and an ``annotation.conf`` listing the types, so the folder opens in brat for
correction. A mention that crosses a line break is written as fragments, as brat does."""
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Set, Tuple

from spacy.tokens import Doc, Span

from ..relations import get_relations
from .doc_meta import get_doc_id
from .errors import ConversionError

LABEL_WITH_SPACE = "labels with whitespace written with '_' (brat types cannot hold spaces)"


def _brat_label(label: str, dropped: Counter) -> str:
    if re.search(r"\s", label):
        dropped[LABEL_WITH_SPACE] += 1
        return re.sub(r"\s", "_", label)
    return label


def _fragments(text: str, start: int, end: int) -> List[Tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in re.finditer(r"[^\r\n]+", text[start:end])]


def doc_to_ann(doc: Doc, spans_key: str = "entities", dropped: Counter = None) -> str:
    dropped = Counter() if dropped is None else dropped
    lines: List[str] = []
    ids: Dict[Tuple[int, int, str], str] = {}
    text = doc.text  # once: doc.text is rebuilt from the tokens at each call

    def textbound(span: Span) -> str:
        key = (span.start_char, span.end_char, span.label_)
        if key not in ids:
            ids[key] = f"T{len(ids) + 1}"
            fragments = _fragments(text, span.start_char, span.end_char)
            offsets = ";".join(f"{a} {b}" for a, b in fragments)
            mention = " ".join(text[a:b] for a, b in fragments)
            lines.append(f"{ids[key]}\t{_brat_label(span.label_, dropped)} {offsets}\t{mention}")
        return ids[key]

    for span in doc.spans.get(spans_key, []):
        textbound(span)
    for number, rel in enumerate(get_relations(doc), start=1):
        head, tail = textbound(rel.head), textbound(rel.tail)
        lines.append(f"R{number}\t{_brat_label(rel.label, dropped)} Arg1:{head} Arg2:{tail}")
    return "".join(line + "\n" for line in lines)


def _name(doc: Doc, number: int, used: Set[str]) -> str:
    """A safe relative file stem: the input's document name when known."""
    doc_id = get_doc_id(doc)
    parts = [re.sub(r"[^\w.-]", "_", part) for part in str(doc_id).split("/")] if doc_id is not None else []
    parts = [part for part in parts if part.strip(".")]
    name = "/".join(parts) or f"doc{number:05d}"
    candidate, suffix = name, 1
    while candidate in used:
        suffix += 1
        candidate = f"{name}_{suffix}"
    used.add(candidate)
    return candidate


def annotation_conf(docs: List[Doc], spans_key: str) -> str:
    entity_types: Set[str] = set()
    arguments: Dict[str, Tuple[Set[str], Set[str]]] = defaultdict(lambda: (set(), set()))
    for doc in docs:
        entity_types.update(span.label_ for span in doc.spans.get(spans_key, []))
        for rel in get_relations(doc):
            arguments[rel.label][0].add(rel.head.label_)
            arguments[rel.label][1].add(rel.tail.label_)
            entity_types.update((rel.head.label_, rel.tail.label_))

    def clean(label: str) -> str:
        return re.sub(r"\s", "_", label)

    def types(labels: Set[str]) -> str:
        return "|".join(sorted(map(clean, labels)))

    relations = [f"{clean(label)}\tArg1:{types(heads)}, Arg2:{types(tails)}"
                 for label, (heads, tails) in sorted(arguments.items())]
    # Entities may nest or overlap (spans, not BIO): allow it in brat too.
    relations.append("<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>, <OVL-TYPE>:<ANY>")
    return "\n".join(["[entities]", *sorted(map(clean, entity_types)), "", "[relations]", *relations,
                      "", "[events]", "", "[attributes]", ""])


def write_brat(docs: Iterable[Doc], folder: Path, spans_key: str = "entities") -> Counter:
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or next(folder.rglob("*.ann"), None) is not None):
        raise ConversionError(folder, ["the output must be a new or empty folder: it is a file or already holds "
                                       ".ann files, which would be overwritten"])
    docs = list(docs)
    folder.mkdir(parents=True, exist_ok=True)
    dropped: Counter = Counter()
    used: Set[str] = set()
    for number, doc in enumerate(docs):
        stem = folder / _name(doc, number, used)
        stem.parent.mkdir(parents=True, exist_ok=True)
        # newline="": write the text byte for byte, so the offsets stay right on Windows too.
        with open(f"{stem}.txt", "w", encoding="utf8", newline="") as out:
            out.write(doc.text)
        with open(f"{stem}.ann", "w", encoding="utf8", newline="") as out:
            out.write(doc_to_ann(doc, spans_key, dropped))
    conf = folder / "annotation.conf"
    if not conf.exists():
        conf.write_text(annotation_conf(docs, spans_key), encoding="utf8")
    return dropped
