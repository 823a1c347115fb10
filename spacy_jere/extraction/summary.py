"""``OUTPUT/summary.json``: what the last run did and what OUTPUT holds, with the
skipped records (a sample; all of them are in the ``skipped`` table) and the speed."""
import json
import os
from collections import Counter
from pathlib import Path
from typing import List

from .writers import read_column, read_table

SUMMARY_FILE = "summary.json"
EXAMPLES = 100


def totals(parts: List[dict]) -> dict:
    reasons: Counter = Counter()
    for part in parts:
        reasons.update(part["skipped_by_reason"])
    return {
        "parts": len(parts),
        "entries": sum(part["entries"] for part in parts),
        "docs": sum(part["docs"] for part in parts),
        "skipped": sum(part["skipped"] for part in parts),
        "entities": sum(part["entities"] for part in parts),
        "relations": sum(part["relations"] for part in parts),
        "skipped_by_reason": dict(sorted(reasons.items())),
    }


def skipped_examples(out_dir: Path) -> List[dict]:
    rows = read_table(out_dir, "skipped")
    rows.sort(key=lambda row: (row["source"], row["line"]))
    return rows[:EXAMPLES]


def duplicate_ids(out_dir: Path) -> dict:
    """Doc ids given to more than one document (ids taken from the input). Both
    documents are extracted; the ``source`` and ``line`` columns tell them apart."""
    counts = Counter(read_column(out_dir, "docs", "doc_id"))
    repeated = sorted(doc_id for doc_id, n in counts.items() if n > 1)
    return {"count": len(repeated), "examples": repeated[:EXAMPLES]}


def write_summary(out_dir: Path, summary: dict) -> Path:
    path = out_dir / SUMMARY_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf8")
    os.replace(tmp, path)
    return path


def summary_lines(summary: dict) -> List[str]:
    run, total = summary["this_run"], summary["total"]
    lines = [
        f"{summary['status']}: {run['docs']} docs extracted in this run ({run['parts_written']} parts, "
        f"{run['docs_per_second']:.1f} docs/s, {run['wall_seconds']:.1f} s in all); "
        f"{run['parts_done_before']} parts were done by earlier runs",
        f"{summary['output']} ({summary['format']}) holds {total['docs']} docs, {total['entities']} entities, "
        f"{total['relations']} relations; {total['skipped']} records skipped",
    ]
    for reason, count in total["skipped_by_reason"].items():
        lines.append(f"  skipped {count}: {reason}")
    examples = summary["skipped_examples"][:5]
    for row in examples:
        lines.append(f"    {row['source']}:{row['line']}: {row['detail']}")
    if total["skipped"] > len(examples):
        lines.append(f"    (all of them: the skipped table in {summary['output']})")
    duplicates = summary["duplicate_ids"]
    if duplicates["count"]:
        lines.append(f"  warning: {duplicates['count']} doc ids are given to more than one document, e.g. "
                     f"{', '.join(map(repr, duplicates['examples'][:3]))} (the docs table's source and line tell "
                     "them apart)")
    return lines
