"""Part files of the four tables, in Parquet (pyarrow) or JSONL.

A part's rows go to ``OUTPUT/<table>/<part name>.<ext>`` for each table in
``tables.SCHEMA`` (an empty table still gets its file). Each file is written to a hidden
temporary name and renamed into place, so a file that exists under its own name is
whole. Files of parts the manifest does not list (left by a run that stopped before
recording them) are removed when a run starts: OUTPUT holds the recorded parts only.
"""
import json
import os
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from .errors import ExtractUsageError
from .tables import SCHEMA, TABLES

FORMATS = ("parquet", "jsonl")
EXTENSIONS = {"parquet": ".parquet", "jsonl": ".jsonl"}
PARQUET_INSTALL = 'pip install "spacy-jere[parquet]"'


class FormatError(ExtractUsageError):
    """An output format that cannot be written here; the message says what to do."""


def require_pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise FormatError(f"Parquet needs pyarrow: {PARQUET_INSTALL}, or use --format jsonl") from None
    return pyarrow


def arrow_schema(table: str):
    pa = require_pyarrow()
    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    return pa.schema([(name, types[kind]) for name, kind in SCHEMA[table]])


class TableWriter:
    def __init__(self, out_dir: Path, fmt: str):
        if fmt not in FORMATS:
            raise FormatError(f"unknown output format {fmt!r}: use {' or '.join(FORMATS)}")
        if fmt == "parquet":
            require_pyarrow()
        self.out_dir, self.fmt, self.ext = out_dir, fmt, EXTENSIONS[fmt]

    def path(self, table: str, name: str) -> Path:
        return self.out_dir / table / f"{name}{self.ext}"

    def write_part(self, name: str, tables: Dict[str, List[dict]]) -> None:
        for table in TABLES:
            path = self.path(table, name)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            if self.fmt == "parquet":
                import pyarrow.parquet as pq

                pa = require_pyarrow()
                pq.write_table(pa.Table.from_pylist(tables[table], schema=arrow_schema(table)), tmp)
            else:
                with open(tmp, "w", encoding="utf8") as handle:
                    for row in tables[table]:
                        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            os.replace(tmp, path)

    def remove_unrecorded(self, recorded: Iterable[str]) -> List[Path]:
        """Delete part files (and temporary files) of parts that are not recorded."""
        keep = set(recorded)
        removed = []
        for table in TABLES:
            folder = self.out_dir / table
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                stem = path.name[: -len(self.ext)] if path.name.endswith(self.ext) else None
                if path.name.startswith(".") or stem not in keep:
                    path.unlink()
                    removed.append(path)
        return removed


def read_table(out_dir, table: str, names: Optional[Iterable[str]] = None) -> List[dict]:
    """All rows of one table of an extract OUTPUT folder (its parts in name order), as
    dicts; ``names``: only these parts."""
    folder = Path(out_dir) / table
    if table not in SCHEMA:
        raise ValueError(f"unknown table {table!r}: one of {', '.join(TABLES)}")
    wanted = set(names) if names is not None else None
    rows: List[dict] = []
    if not folder.is_dir():
        return rows
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix not in (".parquet", ".jsonl"):
            continue
        if wanted is not None and path.stem not in wanted:
            continue
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows.extend(pq.read_table(path).to_pylist())
        else:
            with open(path, encoding="utf8") as handle:
                rows.extend(json.loads(line) for line in handle if line.strip())
    return rows


def read_column(out_dir, table: str, column: str) -> List:
    """One column of a table, read without the others where the format allows."""
    folder = Path(out_dir) / table
    values: List = []
    if not folder.is_dir():
        return values
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            values.extend(pq.read_table(path, columns=[column]).column(column).to_pylist())
        elif path.suffix == ".jsonl":
            with open(path, encoding="utf8") as handle:
                values.extend(json.loads(line)[column] for line in handle if line.strip())
    return values
