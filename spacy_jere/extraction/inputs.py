"""INPUT -> entries: one entry per line (``.txt``, ``.jsonl``) or row (``.parquet``).

An entry is a ``Record`` (a document to annotate) or a ``Skipped`` (a bad record: its
file, line and reason). Nothing is dropped without an entry, so every line or row of
the input ends up in exactly one output table: ``docs`` or ``skipped``.

Ids: the input's id field when a record has one, else ``<source>:<line>``, where
``source`` is the file's path relative to the input root (the folder given, the glob's
folder, or the file's own folder) and ``line`` counts from 1 (rows of a Parquet file
too). Both depend only on INPUT as given, so they are the same on every run.
"""
import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Union

from .errors import ExtractUsageError

SUFFIXES = (".txt", ".jsonl", ".parquet")
GLOB_CHARS = "*?["
PARQUET_BATCH_ROWS = 1024


class InputError(ExtractUsageError):
    """Bad INPUT as a whole (no file, unknown format); the message says what to do."""


@dataclass(frozen=True)
class Fields:
    text: str = "text"
    id: str = "id"


@dataclass(frozen=True)
class InputFile:
    path: str  # absolute, as a string (sent to Ray workers)
    source: str  # relative to the input root, posix: part of generated ids and of the output

    @property
    def kind(self) -> str:
        return Path(self.path).suffix.lower()


@dataclass
class Record:
    doc_id: str
    text: str
    source: str
    line: int
    meta: str = "{}"  # the record's other fields, as a JSON object


@dataclass
class Skipped:
    source: str
    line: int
    reason: str  # a short code, counted in the summary
    detail: str  # what was wrong, for a person
    doc_id: str = ""  # when the record had one or it could be generated


Entry = Union[Record, Skipped]


def is_glob(spec: str) -> bool:
    return any(char in spec for char in GLOB_CHARS)


def _glob_root(spec: str) -> Path:
    parts = Path(spec).parts
    fixed = []
    for part in parts:
        if is_glob(part):
            break
        fixed.append(part)
    return Path(*fixed).resolve() if fixed else Path.cwd()


def _under(path: Path, folder: Optional[Path]) -> bool:
    return folder is not None and (path == folder or folder in path.parents)


def _expand(spec: str):
    """(root, files) of one INPUT spec: a file, a folder (searched recursively) or a glob."""
    path = Path(spec)
    if is_glob(spec) and not path.exists():
        files = [Path(p).resolve() for p in glob.glob(spec, recursive=True)]
        files = [p for p in files if p.is_file() and p.suffix.lower() in SUFFIXES]
        return _glob_root(spec), files
    if path.is_dir():
        root = path.resolve()
        files = [p.resolve() for p in root.rglob("*")
                 if p.is_file() and p.suffix.lower() in SUFFIXES
                 and not any(part.startswith(".") for part in p.relative_to(root).parts)]
        return root, files
    if path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise InputError(f"{spec}: unknown input format {path.suffix!r}; give .txt (one document a line), "
                             ".jsonl or .parquet files, or a folder or glob of them")
        return path.resolve().parent, [path.resolve()]
    raise InputError(f"{spec}: no such file or folder")


def resolve_inputs(specs: Sequence[str], exclude: Optional[Path] = None) -> List[InputFile]:
    """The input files of INPUT (one or more files, folders or globs), sorted by their
    source name. Files under ``exclude`` (the OUTPUT folder) are left out."""
    if isinstance(specs, (str, Path)):
        specs = [str(specs)]
    exclude = exclude.resolve() if exclude is not None else None
    roots, files = [], []
    for spec in specs:
        root, found = _expand(str(spec))
        found = [p for p in found if not _under(p, exclude)]
        if not found:
            raise InputError(f"{spec}: no .txt, .jsonl or .parquet file found")
        roots.append(root)
        files.extend(found)
    root = Path(os.path.commonpath([str(r) for r in roots]))
    unique = {}
    for path in files:
        unique.setdefault(path, InputFile(path=str(path), source=path.relative_to(root).as_posix()))
    return sorted(unique.values(), key=lambda f: f.source)


def _lines(path: str) -> Iterator[tuple]:
    """(line number, text or None, decode error) for each line, split on b'\\n' only."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield number, raw.decode("utf-8"), None
            except UnicodeDecodeError as err:
                bad = raw[err.start:err.start + 4]
                yield number, None, f"undecodable bytes (not UTF-8) at byte {err.start}: {bad!r}"


def _generated_id(source: str, line: int) -> str:
    return f"{source}:{line}"


def _record(values: dict, source: str, line: int, fields: Fields) -> Entry:
    """A record from a JSON object or a Parquet row, or the reason it is not one."""
    doc_id = _generated_id(source, line)
    given = values.get(fields.id)
    if given is not None and given != "":
        if isinstance(given, bool) or not isinstance(given, (str, int)):
            return Skipped(source, line, "bad_id", f"id field {fields.id!r} is of type {type(given).__name__}, "
                           "not a string or an integer", "")
        doc_id = str(given)
    if fields.text not in values:
        found = ", ".join(sorted(map(str, values))[:8]) or "none"
        return Skipped(source, line, "no_text_field",
                       f"no text field {fields.text!r} (fields: {found}; see --text-field)", doc_id)
    text = values[fields.text]
    if text is None:
        return Skipped(source, line, "text_not_string", "text is null", doc_id)
    if not isinstance(text, str):
        return Skipped(source, line, "text_not_string", f"text is of type {type(text).__name__}, not a string", doc_id)
    if not text.strip():
        return Skipped(source, line, "empty_text", "empty or whitespace-only text", doc_id)
    meta = {k: v for k, v in values.items() if k not in (fields.text, fields.id)}
    return Record(doc_id, text, source, line, json.dumps(meta, ensure_ascii=False, default=str))


def _read_txt(file: InputFile) -> Iterator[Entry]:
    for line, text, error in _lines(file.path):
        doc_id = _generated_id(file.source, line)
        if error:
            yield Skipped(file.source, line, "undecodable", error, doc_id)
        elif not text.strip():
            yield Skipped(file.source, line, "empty_text", "empty or whitespace-only line", doc_id)
        else:
            yield Record(doc_id, text, file.source, line)


def _read_jsonl(file: InputFile, fields: Fields) -> Iterator[Entry]:
    for line, text, error in _lines(file.path):
        if error:
            yield Skipped(file.source, line, "undecodable", error)
            continue
        if not text.strip():
            yield Skipped(file.source, line, "empty_text", "blank line (no JSON object)")
            continue
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            yield Skipped(file.source, line, "not_json", f"not JSON: {err.msg} at column {err.colno}")
            continue
        if not isinstance(values, dict):
            yield Skipped(file.source, line, "not_object", f"a JSON {type(values).__name__}, not an object")
            continue
        yield _record(values, file.source, line, fields)


def require_parquet_reader():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError('Reading .parquet needs pyarrow: pip install "spacy-jere[parquet]"') from None
    return pq


def _read_parquet(file: InputFile, fields: Fields) -> Iterator[Entry]:
    pq = require_parquet_reader()
    try:
        parquet = pq.ParquetFile(file.path)
    except Exception as err:  # pyarrow raises ArrowInvalid, OSError, ... on a damaged file
        raise InputError(f"{file.source}: not a readable Parquet file ({type(err).__name__}: {err})") from None
    line = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        for values in batch.to_pylist():
            line += 1
            yield _record(values, file.source, line, fields)


def read_entries(file: InputFile, fields: Fields = Fields()) -> Iterator[Entry]:
    """Every line (row) of one input file, as a Record or a Skipped, in file order."""
    if file.kind == ".txt":
        return _read_txt(file)
    if file.kind == ".jsonl":
        return _read_jsonl(file, fields)
    return _read_parquet(file, fields)


def count_entries(file: InputFile) -> int:
    """How many entries ``read_entries`` gives, without parsing (for the progress bar)."""
    if file.kind == ".parquet":
        return require_parquet_reader().ParquetFile(file.path).metadata.num_rows
    count, last = 0, b"\n"
    with open(file.path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")
