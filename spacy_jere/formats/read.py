"""Any supported corpus -> Docs: pick the reader, then refuse empty corpora and (with a
types file) unknown types."""
from pathlib import Path
from typing import List, Optional, Tuple

import spacy
from spacy.tokens import Doc

from ..convert import load_types, read_spert_json
from . import INPUT_FORMATS
from .brat import read_brat
from .detect import detect_format
from .dygiepp import read_dygiepp
from .errors import ConversionError
from .prodigy import read_prodigy
from .sentences import SENTENCE_MODES
from .stats import ConversionStats

# --sentences auto: BRAT documents are split by spaCy's sentencizer; a Prodigy task is
# one sentence (annotators see and pair within the whole task).
DEFAULT_SENTENCES = {"brat": "sentencizer", "prodigy": "none"}


def _blank(lang: str, path: Path):
    try:
        return spacy.blank(lang)
    except Exception as err:  # spaCy raises ImportError or its own errors for unknown codes
        raise ConversionError(path, [f"--lang {lang!r}: spaCy has no such language ({err})"]) from None


def _unknown_types(stats: ConversionStats, types_path: Path) -> List[str]:
    entity_types, relation_types = load_types(types_path)
    problems = [f"entity type {label!r} ({count} entities) is not in {types_path}"
                for label, count in sorted(stats.entity_types.items()) if label not in entity_types]
    problems += [f"relation type {label!r} ({count} relations) is not in {types_path}"
                 for label, count in sorted(stats.relation_types.items()) if label not in relation_types]
    return problems


def _empty_message(stats: ConversionStats) -> str:
    skipped = ", ".join(f"{count} {reason}" for reason, count in sorted(stats.skipped.items()))
    return "0 documents: nothing to train on" + (f" (skipped: {skipped})" if skipped else "")


def read_corpus(
    path: Path,
    format: str = "auto",
    *,
    spans_key: str = "entities",
    types_path: Optional[Path] = None,
    lang: str = "en",
    sentences: str = "auto",
    encoding: str = "utf-8",
) -> Tuple[List[Doc], ConversionStats, str]:
    """Docs, what the conversion did, and the format read (detected when ``format`` is
    "auto"). Raises ConversionError listing every problem; nothing is half-read."""
    path = Path(path)
    if not path.exists():
        raise ConversionError(path, ["no such file or folder"])
    if format != "auto" and format not in INPUT_FORMATS:
        raise ConversionError(path, [f"--format {format!r}: expected auto or one of {', '.join(INPUT_FORMATS)}"])
    if sentences != "auto" and sentences not in SENTENCE_MODES:
        raise ConversionError(path, [f"--sentences {sentences!r}: expected auto or one of {', '.join(SENTENCE_MODES)}"])
    fmt = detect_format(path, encoding) if format == "auto" else format
    nlp = _blank(lang, path)
    mode = DEFAULT_SENTENCES.get(fmt) if sentences == "auto" else sentences
    if fmt == "spert":
        docs, stats = read_spert_json(path, nlp.vocab, spans_key, types_path, encoding)
    elif fmt == "dygiepp":
        docs, stats = read_dygiepp(path, nlp.vocab, spans_key, encoding)
    elif fmt == "brat":
        docs, stats = read_brat(path, nlp, spans_key, mode, encoding)
    else:
        docs, stats = read_prodigy(path, nlp, spans_key, mode, encoding)
    if types_path is not None and fmt != "spert":  # the SpERT reader checks each record itself
        problems = _unknown_types(stats, Path(types_path))
        if problems:
            raise ConversionError(path, problems)
    if not docs:
        raise ConversionError(path, [_empty_message(stats)])
    return docs, stats, fmt
