"""Reading input files into text, JSON or JSON Lines, with errors that name the file, the
line and column (or byte) and what to do."""
import json
from pathlib import Path
from typing import Any, List, Tuple

from .errors import ConversionError

EMPTY = "0 documents: the file is empty, nothing to train on"


def read_text(path: Path, encoding: str = "utf-8") -> str:
    """The file's text, decoded as it is on disk (no newline translation: BRAT offsets
    count every character, '\\r' included)."""
    data = Path(path).read_bytes()
    try:
        return data.decode(encoding)
    except LookupError:
        raise ConversionError(path, [f"--encoding {encoding!r} is not an encoding Python knows "
                                     "(try utf-8, latin-1 or cp1252)"]) from None
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        byte = data[err.start:err.start + 1].hex()
        raise ConversionError(path, [
            f"not valid {encoding} text: byte {err.start} (line {line}, column {column}) is 0x{byte} ({err.reason}). "
            "If the file is Latin-1 or Windows-1252, pass --encoding latin-1 (or --encoding cp1252), "
            "or save it as UTF-8."
        ]) from None


def _strip_bom(text: str) -> str:
    # Editors on Windows start UTF-8 files with a byte order mark, which json rejects.
    return text[1:] if text.startswith("\ufeff") else text


def _looks_like_jsonl(text: str) -> bool:
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return isinstance(json.loads(lines[0]), dict)
    except json.JSONDecodeError:
        return False


def load_json(path: Path, encoding: str = "utf-8") -> Any:
    text = _strip_bom(read_text(path, encoding))
    if not text.strip():
        raise ConversionError(path, [EMPTY])
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        hint = ""
        if _looks_like_jsonl(text):
            hint = (" -- the file looks like JSON Lines (one object per line): for DyGIE++ or Prodigy use "
                    "--format auto (or dygiepp, prodigy); SpERT JSON is one list: put the records in [ ], "
                    "separated by commas")
        problem = f"not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}{hint}"
        raise ConversionError(path, [problem]) from None


def load_jsonl(path: Path, encoding: str = "utf-8") -> List[Tuple[int, Any]]:
    """(line number, value) of every non-blank line; every bad line is reported."""
    text = _strip_bom(read_text(path, encoding))
    # Split on '\n' only: JSON strings may hold a raw U+2028, which str.splitlines would cut.
    lines = text.split("\n")
    records, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as err:
            problems.append(f"line {number}: not valid JSON at column {err.colno}: {err.msg}")
    if problems:
        if text.lstrip().startswith("["):
            problems.append("the file starts with '[': it looks like one JSON list (SpERT JSON), "
                            "not JSON Lines: use --format spert (or --format auto)")
        raise ConversionError(path, problems, len(lines) - (lines[-1] == ""), "lines")
    if not records:
        raise ConversionError(path, [EMPTY])
    return records
