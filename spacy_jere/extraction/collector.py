"""Results -> finished parts: the one place that writes tables and records parts.

Both engines turn each part into rows (``part_rows``: one per entry, carrying the part's
name, size and fingerprint), send the documents through the pipeline, and hand every
row back to ``PartCollector.add`` with its annotations, in any order. A part is written
and recorded only when all its rows are in; a row that comes twice (a retried task)
replaces the first. So a part is written whole or not at all, and once.
"""
import json
import time
from collections import Counter
from typing import Callable, Dict, List, Optional

from .inputs import Record
from .manifest import Manifest
from .parts import Part
from .tables import part_tables
from .writers import TableWriter


def part_rows(part: Part) -> List[dict]:
    """One row per entry of the part; a document's row has its text, a skipped one its reason."""
    rows = []
    for position, entry in enumerate(part.entries):
        row = {"part": part.name, "part_total": len(part.entries), "position": position, "source": part.source,
               "index": part.index, "fingerprint": part.fingerprint, "doc_id": entry.doc_id, "line": entry.line}
        if isinstance(entry, Record):
            row.update(kind="doc", text=entry.text, meta=entry.meta, reason="", detail="")
        else:
            row.update(kind="skip", text="", meta="{}", reason=entry.reason, detail=entry.detail)
        rows.append(row)
    return rows


class PartCollector:
    def __init__(self, writer: TableWriter, manifest: Manifest, on_row: Optional[Callable[[dict], None]] = None):
        self.writer, self.manifest, self.on_row = writer, manifest, on_row
        self.buffers: Dict[str, Dict[int, dict]] = {}
        self.written: List[dict] = []  # manifest entries of the parts this run finished
        self.docs = 0  # documents annotated this run (rows received, finished parts or not)

    def add(self, row: dict) -> None:
        buffer = self.buffers.setdefault(row["part"], {})
        if row["position"] not in buffer:
            self.docs += row["kind"] == "doc"
            if self.on_row is not None:
                self.on_row(row)
        if row["kind"] == "doc" and isinstance(row.get("result"), str):
            row = {**row, "result": json.loads(row["result"])}
        buffer[row["position"]] = row
        if len(buffer) == row["part_total"]:
            self._finish(row["part"])

    def _finish(self, name: str) -> None:
        rows = [row for _, row in sorted(self.buffers.pop(name).items())]
        started = time.perf_counter()
        tables = part_tables(rows)
        self.writer.write_part(name, tables)
        first = rows[0]
        entry = {
            "name": name, "source": first["source"], "index": first["index"], "fingerprint": first["fingerprint"],
            "lines": [rows[0]["line"], rows[-1]["line"]], "entries": len(rows), "docs": len(tables["docs"]),
            "skipped": len(tables["skipped"]), "entities": len(tables["entities"]),
            "relations": len(tables["relations"]),
            "skipped_by_reason": dict(Counter(row["reason"] for row in tables["skipped"])),
            "write_seconds": round(time.perf_counter() - started, 4),
        }
        self.manifest.commit(entry)
        self.written.append(entry)

    def unfinished(self) -> List[str]:
        """Parts with some rows in and others missing (nothing of them is written)."""
        return [f"{name} ({len(rows)} of {next(iter(rows.values()))['part_total']} entries)"
                for name, rows in self.buffers.items() if rows]
