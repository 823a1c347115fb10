"""BRAT standoff (``NAME.txt`` + ``NAME.ann``) -> one Doc per document.

The text is tokenized by spaCy's blank tokenizer for ``lang`` (what the pipeline does at
inference); sentences come from ``sentences`` (see ``formats.sentences``). Entities that
do not fall on token boundaries are widened (``char_alignment``); fragments separated only
by whitespace (brat splits a mention at a line break) are joined; other discontinuous
entities, events, attributes, notes and equivalences are skipped and counted per line."""
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc

from .annotations import annotate
from .brat_ann import AnnFile, TextBound, parse_ann
from .char_alignment import char_to_tokens
from .doc_meta import set_doc_id
from .errors import ConversionError
from .loading import read_text
from .sentences import keep_entities_whole, set_sentences
from .stats import ConversionStats

DISCONTINUOUS = "discontinuous entity (several fragments): not supported; relations using it are skipped too"
ON_SKIPPED = "relation whose argument was skipped (a discontinuous entity or an event)"


def _ann_paths(path: Path, stats: ConversionStats) -> List[Path]:
    if not path.is_dir():
        return [path.with_suffix(".ann")]
    anns = sorted(path.rglob("*.ann"))
    with_ann = {ann.with_suffix(".txt") for ann in anns}
    for txt in sorted(path.rglob("*.txt")):
        if txt not in with_ann:
            stats.skip(".txt file without a .ann file (not annotated)", str(txt.relative_to(path)))
    return anns


def _span_chars(tb: TextBound, text: str, where: str, stats: ConversionStats) -> Optional[Tuple[int, int]]:
    """The entity's one character range, or None when it is truly discontinuous."""
    fragments = sorted(tb.fragments)
    if any(text[end:next_start].strip() for (_, end), (next_start, _) in zip(fragments, fragments[1:], strict=False)):
        stats.skip(DISCONTINUOUS, f"{where} ({tb.id})")
        return None
    if len(fragments) > 1:
        stats.notes.append(f"{where} ({tb.id}): fragments separated only by whitespace were joined into one span")
    return fragments[0][0], max(end for _, end in fragments)


def _text_problem(tb: TextBound, text: str, start: int, end: int, where: str) -> Optional[str]:
    if tb.text is None or " ".join(tb.text.split()) == " ".join(text[start:end].split()):
        return None
    hint = (" The .txt has Windows line endings (\\r\\n): if the offsets were counted with \\n endings, "
            "convert the .txt to \\n (e.g. dos2unix).") if "\r" in text else ""
    return (f"{where} ({tb.id}): the .ann text {tb.text!r} differs from the .txt characters {start}-{end} "
            f"{text[start:end]!r}; the offsets do not match this .txt.{hint}")


def _entities(doc: Doc, text: str, ann: AnnFile, name: str, stats: ConversionStats, problems: List[str]):
    """(token entities, T id -> entity index, ids skipped)."""
    entities, index, skipped = [], {}, set(ann.event_ids)
    for tb in ann.textbounds.values():
        where = f"{name} line {tb.line}"
        last = max(end for _, end in tb.fragments)
        if last > len(text):
            problems.append(f"{where} ({tb.id}): offsets end at {last}, beyond the end of the .txt "
                            f"({len(text)} characters)")
            continue
        chars = _span_chars(tb, text, where, stats)
        if chars is None:
            skipped.add(tb.id)
            continue
        problem = _text_problem(tb, text, *chars, where)
        tokens = problem or char_to_tokens(doc, text, *chars, f"{where} ({tb.id})", stats)
        if isinstance(tokens, str):
            problems.append(tokens)
            continue
        index[tb.id] = len(entities)
        entities.append((tokens[0], tokens[1], tb.label))
    return entities, index, skipped


def _relations(ann: AnnFile, name: str, index: Dict[str, int], skipped: Set[str], stats, problems: List[str]):
    relations = []
    for rel in ann.relations:
        where = f"{name} line {rel.line} ({rel.id})"
        args = (rel.head, rel.tail)
        missing = [arg for arg in args if arg not in ann.textbounds and arg not in skipped]
        if missing:
            problems.append(f"{where}: {', '.join(missing)} is not a T annotation of this file")
        elif any(arg in skipped for arg in args):
            stats.skip(ON_SKIPPED, where)
        elif rel.head == rel.tail:
            problems.append(f"{where}: head and tail are the same annotation ({rel.head})")
        elif all(arg in index for arg in args):
            relations.append((index[rel.head], index[rel.tail], rel.label))
        # else: an argument has a problem of its own, already reported
    return relations


def _document(nlp: Language, text: str, ann: AnnFile, name: str, spans_key: str, sentences: str,
              stats: ConversionStats) -> Tuple[Doc, List[str]]:
    doc = nlp.make_doc(text)
    problems = list(ann.problems)
    entities, index, skipped = _entities(doc, text, ann, name, stats, problems)
    relations = _relations(ann, name, index, skipped, stats, problems)
    if not problems:
        set_sentences(doc, sentences)
        stats.sentence_starts_removed += keep_entities_whole(doc, [(s, e) for s, e, _ in entities])
        annotate(doc, entities, relations, spans_key, stats, where=name)
    return doc, problems


def read_brat(
    path: Path, nlp: Language, spans_key: str = "entities", sentences: str = "sentencizer", encoding: str = "utf-8"
) -> Tuple[List[Doc], ConversionStats]:
    """A folder of BRAT documents (searched recursively), or one ``.ann``/``.txt`` file."""
    path = Path(path)
    root = path if path.is_dir() else path.parent
    stats = ConversionStats()
    docs, problems = [], []
    ann_paths = _ann_paths(path, stats)
    for ann_path in ann_paths:
        name = ann_path.relative_to(root).as_posix()
        txt_path = ann_path.with_suffix(".txt")
        if not ann_path.exists() or not txt_path.exists():
            missing = ann_path if not ann_path.exists() else txt_path
            problems.append(f"{name}: {missing.name} does not exist (a BRAT document is NAME.txt + NAME.ann)")
            continue
        try:
            text = read_text(txt_path, encoding)
            ann = parse_ann(read_text(ann_path, encoding), name, stats)
        except ConversionError as err:
            problems += [f"{err.path.relative_to(root).as_posix()}: {problem}" for problem in err.problems]
            continue
        doc, doc_problems = _document(nlp, text, ann, name, spans_key, sentences, stats)
        set_doc_id(doc, ann_path.relative_to(root).with_suffix("").as_posix())
        problems += doc_problems
        docs.append(doc)
    if problems:
        raise ConversionError(path, problems, len(ann_paths), "documents")
    return docs, stats
