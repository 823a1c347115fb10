"""``--format auto``: which input format a path holds, from its kind and first record."""
import json
from pathlib import Path

from .errors import ConversionError
from .loading import EMPTY, read_text

ACCEPTED = (
    "Accepted: SpERT JSON (a .json list of {tokens, entities, relations}), "
    "DyGIE++ JSONL (one {doc_key, sentences, ner, relations} per line), "
    "Prodigy rel JSONL (one {text, tokens, spans, relations, answer} per line), "
    "BRAT standoff (a folder of .txt + .ann files, or one .ann file). Pass --format to choose one."
)


def _detect_folder(path: Path) -> str:
    if next(path.rglob("*.ann"), None) is not None:
        return "brat"
    n_txt = sum(1 for _ in path.rglob("*.txt"))
    found = f"{n_txt} .txt files but no .ann files" if n_txt else "no .ann files"
    raise ConversionError(path, [f"a folder with {found}: 0 documents, nothing to train on. A BRAT corpus "
                                 "is a folder of NAME.txt + NAME.ann pairs. " + ACCEPTED])


def _detect_json_lines(path: Path, first_line: str) -> str:
    try:
        record = json.loads(first_line)
    except json.JSONDecodeError:
        raise ConversionError(path, ["line 1 is not a JSON object on its own, so the file is not JSON Lines. "
                                     + ACCEPTED]) from None
    keys = set(record) if isinstance(record, dict) else set()
    if "sentences" in keys and ("ner" in keys or "doc_key" in keys):
        return "dygiepp"
    if "text" in keys:
        return "prodigy"
    if {"tokens", "entities"} <= keys:
        raise ConversionError(path, ["line 1 is a SpERT record, but SpERT JSON is one list of records: "
                                     "put them in [ ] separated by commas"])
    raise ConversionError(path, [f"line 1: an object with keys {sorted(keys)}, none of the formats. " + ACCEPTED])


def detect_format(path: Path, encoding: str = "utf-8") -> str:
    path = Path(path)
    if path.is_dir():
        return _detect_folder(path)
    if path.suffix == ".ann" or (path.suffix == ".txt" and path.with_suffix(".ann").exists()):
        return "brat"
    text = read_text(path, encoding).lstrip("\ufeff \t\r\n")
    if not text:
        raise ConversionError(path, [EMPTY])
    if text[0] == "[":
        return "spert"
    if text[0] == "{":
        return _detect_json_lines(path, text.split("\n", 1)[0])
    raise ConversionError(path, [f"not a format spacy-jere reads (it starts with {text[:30]!r}). " + ACCEPTED])
