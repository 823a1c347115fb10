"""Entries -> parts: the unit that is written, recorded in the manifest and resumed.

A part is up to ``part_size`` consecutive entries of one input file, so part ``k`` of a
file is the same on every run and for every engine. Its fingerprint (a hash of its ids,
lines, texts and skip reasons) tells a resumed run whether the input changed under a
finished part. Documents longer than ``max_chars`` are refused here, before any model
sees them (reason ``too_long``): never cut, never truncated.
"""
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Dict, Iterator, List

from .errors import ExtractUsageError
from .inputs import Entry, Fields, InputFile, Record, Skipped, read_entries


class InputChanged(ExtractUsageError):
    """A part recorded as finished has different content now."""


@dataclass(frozen=True)
class PartPlan:
    fields: Fields = Fields()
    part_size: int = 1000
    max_chars: int = 100_000


@dataclass
class Part:
    name: str  # unique, safe as a file name; the manifest's key
    source: str
    index: int
    entries: List[Entry] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def records(self) -> List[Record]:
        return [entry for entry in self.entries if isinstance(entry, Record)]


def part_name(source: str, index: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", source)[-60:]
    digest = hashlib.blake2b(source.encode("utf8"), digest_size=4).hexdigest()
    return f"{slug}-{digest}-{index:05d}"


def fingerprint(entries: List[Entry]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for entry in entries:
        if isinstance(entry, Record):
            values = ["r", entry.doc_id, entry.line, entry.text, entry.meta]
        else:
            values = ["s", entry.doc_id, entry.line, entry.reason]
        digest.update(json.dumps(values, ensure_ascii=False).encode("utf8"))
        digest.update(b"\n")
    return digest.hexdigest()


def refuse_long(entry: Entry, max_chars: int) -> Entry:
    if isinstance(entry, Record) and len(entry.text) > max_chars:
        return Skipped(entry.source, entry.line, "too_long",
                       f"{len(entry.text)} characters, over --max-chars {max_chars}", entry.doc_id)
    return entry


def _part(file: InputFile, index: int, entries: List[Entry]) -> Part:
    return Part(part_name(file.source, index), file.source, index, entries, fingerprint(entries))


def iter_parts(file: InputFile, plan: PartPlan) -> Iterator[Part]:
    """The parts of one file, in order."""
    entries: List[Entry] = []
    index = 0
    for entry in read_entries(file, plan.fields):
        entries.append(refuse_long(entry, plan.max_chars))
        if len(entries) == plan.part_size:
            yield _part(file, index, entries)
            entries, index = [], index + 1
    if entries:
        yield _part(file, index, entries)


def pending_parts(file: InputFile, plan: PartPlan, done: Dict[str, str]) -> Iterator[Part]:
    """The parts of one file that are not finished yet. ``done`` maps a finished part's
    name to its fingerprint; a finished part whose content changed raises InputChanged."""
    for part in iter_parts(file, plan):
        recorded = done.get(part.name)
        if recorded is None:
            yield part
        elif recorded != part.fingerprint:
            raise InputChanged(
                f"{file.source}: part {part.index} (lines {part.entries[0].line}-{part.entries[-1].line}) was "
                "finished by an earlier run on this OUTPUT, and the input has changed since. Extract into a new "
                "OUTPUT folder (or delete this one) to start again."
            )
