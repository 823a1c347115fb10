"""Parse one BRAT ``.ann`` file: text-bound (T) and relation (R) lines are read; event (E),
attribute (A/M), normalization (N), note (#) and equivalence (*) lines are counted as
skipped with their line; anything else is a problem."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from .stats import ConversionStats

SKIPPED_LINES = {
    "E": "event (E line): events are not supported",
    "A": "attribute (A line): attributes are not used",
    "M": "attribute (M line): attributes are not used",
    "N": "normalization (N line): not used",
    "#": "note (# line): not used",
    "*": "equivalence (* line): not used",
}


@dataclass
class TextBound:
    line: int
    id: str
    label: str
    fragments: List[Tuple[int, int]]
    text: Optional[str]


@dataclass
class BratRelation:
    line: int
    id: str
    label: str
    head: str
    tail: str


@dataclass
class AnnFile:
    textbounds: Dict[str, TextBound] = field(default_factory=dict)
    relations: List[BratRelation] = field(default_factory=list)
    # Events: relations that point at them are skipped, not reported as broken.
    event_ids: Set[str] = field(default_factory=set)
    problems: List[str] = field(default_factory=list)


def _fragments(offsets: str) -> Optional[List[Tuple[int, int]]]:
    fragments = []
    for fragment in offsets.split(";"):
        numbers = fragment.split()
        if len(numbers) != 2 or not all(n.isdigit() for n in numbers):
            return None
        fragments.append((int(numbers[0]), int(numbers[1])))
    return fragments


def _parse_textbound(fields: List[str], number: int, where: str, ann: AnnFile) -> None:
    ann_id = fields[0]
    label, _, offsets = fields[1].partition(" ") if len(fields) > 1 else ("", "", "")
    fragments = _fragments(offsets)
    if not label or fragments is None:
        ann.problems.append(f"{where}: expected 'ID<TAB>TYPE START END<TAB>TEXT', got {chr(9).join(fields)!r}")
    elif any(start >= end for start, end in fragments):
        ann.problems.append(f"{where} ({ann_id}): offsets {offsets!r}: each start must be below its end")
    elif ann_id in ann.textbounds:
        ann.problems.append(f"{where}: {ann_id} is defined twice (first on line {ann.textbounds[ann_id].line})")
    else:
        text = fields[2] if len(fields) > 2 else None
        ann.textbounds[ann_id] = TextBound(number, ann_id, label, fragments, text)


def _parse_relation(fields: List[str], number: int, where: str, ann: AnnFile) -> None:
    parts = fields[1].split() if len(fields) > 1 else []
    args = [part.partition(":") for part in parts[1:]]
    if len(parts) != 3 or not all(sep and value for _, sep, value in args):
        ann.problems.append(f"{where}: expected 'ID<TAB>TYPE Arg1:ID Arg2:ID', got {chr(9).join(fields)!r}")
        return
    roles = {role: value for role, _, value in args}
    if set(roles) == {"Arg1", "Arg2"}:
        head, tail = roles["Arg1"], roles["Arg2"]
    else:  # other role names: the first argument is the head
        head, tail = args[0][2], args[1][2]
    ann.relations.append(BratRelation(number, fields[0], parts[0], head, tail))


def parse_ann(text: str, name: str, stats: ConversionStats) -> AnnFile:
    ann = AnnFile()
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        where = f"{name} line {number}"
        fields = line.split("\t")
        kind = line[0]
        if kind == "T":
            _parse_textbound(fields, number, where, ann)
        elif kind == "R":
            _parse_relation(fields, number, where, ann)
        elif kind in SKIPPED_LINES:
            if kind == "E":
                ann.event_ids.add(fields[0])
            stats.skip(SKIPPED_LINES[kind], f"{where} ({fields[0]})")
        else:
            ann.problems.append(f"{where}: {line[:40]!r} is not a BRAT annotation (lines start with T, R, E, A, "
                                "M, N, # or *)")
    return ann
