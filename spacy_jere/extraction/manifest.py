"""The OUTPUT folder's record of what is finished, so that a re-run resumes.

``run.json`` holds the settings that decide the output (model, input, format, fields,
``max_chars``, ``part_size``); a re-run with other values is refused, because its parts
would not match. ``parts.jsonl`` gets one line per finished part, appended (and synced)
only after the part's files are all in place. A run that stops between the two leaves a
part that is not recorded: the next run writes it again under the same file names, so
nothing is written twice. A last line cut short by a crash is ignored the same way.
"""
import json
import os
from pathlib import Path
from typing import Dict, List

from .errors import ExtractUsageError

RUN_FILE = "run.json"
PARTS_FILE = "parts.jsonl"
# Settings that must be the same to resume (engine, batch size, workers may change).
RESUME_KEYS = ("model", "inputs", "format", "text_field", "id_field", "max_chars", "part_size")


class OutputError(ExtractUsageError):
    """OUTPUT cannot be written or resumed; the message says why."""


class Manifest:
    def __init__(self, out_dir: Path, done: Dict[str, dict]):
        self.out_dir = out_dir
        self.done = done

    @classmethod
    def open(cls, out_dir: Path, settings: dict) -> "Manifest":
        """Create OUTPUT, or check that it was written with the same settings."""
        if out_dir.exists() and not out_dir.is_dir():
            raise OutputError(f"{out_dir}: OUTPUT is a file; give a folder (new or from an earlier extract run)")
        run_file = out_dir / RUN_FILE
        wanted = {key: settings[key] for key in RESUME_KEYS}
        if run_file.exists():
            recorded = json.loads(run_file.read_text(encoding="utf8"))
            changed = [f"{key}: {recorded.get(key)!r} before, {wanted[key]!r} now"
                       for key in RESUME_KEYS if recorded.get(key) != wanted[key]]
            if changed:
                raise OutputError(f"{out_dir} holds an extraction with other settings, which this run cannot "
                                  "resume (" + "; ".join(changed) + "). Use the same settings, or a new OUTPUT.")
        elif out_dir.exists() and any(out_dir.iterdir()):
            raise OutputError(f"{out_dir}: OUTPUT is a folder that is not empty and holds no {RUN_FILE} (not an "
                              "extract output); give a new or empty folder")
        else:
            out_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(run_file, json.dumps(wanted, indent=2, ensure_ascii=False))
        return cls(out_dir, _read_parts(out_dir / PARTS_FILE))

    def fingerprints(self) -> Dict[str, str]:
        return {name: entry["fingerprint"] for name, entry in self.done.items()}

    def commit(self, entry: dict) -> None:
        """Record a finished part (its files must already be in place)."""
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with open(self.out_dir / PARTS_FILE, "a", encoding="utf8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        self.done[entry["name"]] = entry

    def entries(self) -> List[dict]:
        return list(self.done.values())


def _read_parts(path: Path) -> Dict[str, dict]:
    done: Dict[str, dict] = {}
    if not path.exists():
        return done
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):  # cut short by a crash: drop the piece, so appends start a line
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)
    with open(path, encoding="utf8") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash: that part is done again
            if isinstance(entry, dict) and line.endswith("\n"):
                done[entry["name"]] = entry
    return done


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf8")
    os.replace(tmp, path)
