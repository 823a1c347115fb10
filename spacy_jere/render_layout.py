"""Geometry of the entity and relation picture (no markup here; render_svg.py draws it).

A doc becomes lines of tokens. Entities are stacked bars with a label box under their
tokens; relations are arcs above the tokens, from the head span to the tail span, with
their label on the arc. Lines break at sentence starts and when they get wider than
``max_width``, but never inside an entity or between the two arguments of a relation,
so every arc stays on one line (a line that cannot be broken is simply wider).

Text widths are estimated from Helvetica/Arial metrics and the drawing pins every text
to its estimate (SVG ``textLength``), so the layout never depends on the fonts a
browser happens to have.
"""
import unicodedata
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

# Helvetica advance widths (1/1000 em) for printable ASCII, from its AFM metrics.
_ASCII_WIDTHS = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,  # space to /
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,  # 0 to ?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,  # @ to O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,  # P to _
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,  # ` to o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,  # p to ~
)
_OTHER_WIDTH = 600  # other letters: a little wider than the ASCII average, to be safe
_WIDE_WIDTH = 1000  # CJK and other full-width characters
_BOLD_FACTOR = 1.08

# Sizes in px.
TEXT_SIZE = 16
ENT_LABEL_SIZE = 11
REL_LABEL_SIZE = 12
PAD = 12  # around a line
GAP_SPACE = 7  # after a token followed by whitespace
GAP_NO_SPACE = 1  # after a token glued to the next one ("Boston" ".")
TEXT_HEIGHT = 22  # the token row
ARC_BASE = 16  # from the top of the token row to the lowest arc level
ARC_STEP = 20  # between arc levels
REL_BOX_HEIGHT = 15
REL_BOX_PAD = 4  # label box padding, left and right
ARROW = 6  # arrowhead length
ENT_BAR_OFFSET = 2  # from the bottom of the token row to the first entity bar
ENT_BAR_HEIGHT = 4
ENT_BOX_HEIGHT = 14
ENT_STEP = ENT_BAR_HEIGHT + 1 + ENT_BOX_HEIGHT + 4
ENT_BOX_PAD = 4
PACK_GAP = 4  # minimum horizontal room between two items on one level


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Estimated rendered width of ``text`` in px at font size ``size``."""
    units = 0
    for char in text:
        code = ord(char)
        if 32 <= code <= 126:
            units += _ASCII_WIDTHS[code - 32]
        elif unicodedata.combining(char) or unicodedata.category(char) in ("Cf", "Cc", "Mn", "Me"):
            continue
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            units += _WIDE_WIDTH
        else:
            units += _OTHER_WIDTH
    return units * size / 1000 * (_BOLD_FACTOR if bold else 1.0)


@dataclass(frozen=True)
class Token:
    text: str
    space_after: bool
    is_space: bool  # a whitespace token: takes no room and is not drawn
    newline: bool  # the text breaks the line after this token


@dataclass(frozen=True)
class Entity:
    start: int  # token offsets in the doc
    end: int
    caption: str  # what the label box says


@dataclass(frozen=True)
class Arc:
    head: int  # index into the entity list
    tail: int
    caption: str


@dataclass
class PlacedToken:
    i: int
    text: str
    x: float
    width: float


@dataclass
class PlacedEntity:
    index: int
    x0: float
    x1: float
    level: int
    box_width: float
    caption_width: float


@dataclass
class PlacedArc:
    index: int
    x_head: float
    x_tail: float
    level: int
    caption_width: float

    @property
    def center(self) -> float:
        return (self.x_head + self.x_tail) / 2

    @property
    def box_width(self) -> float:
        return self.caption_width + 2 * REL_BOX_PAD


@dataclass
class Line:
    start: int  # token range of the doc
    end: int
    tokens: List[PlacedToken] = field(default_factory=list)
    entities: List[PlacedEntity] = field(default_factory=list)
    arcs: List[PlacedArc] = field(default_factory=list)
    width: float = 0.0
    arc_levels: int = 0
    ent_levels: int = 0

    @property
    def text_top(self) -> float:
        if not self.arc_levels:
            return PAD
        return PAD + REL_BOX_HEIGHT / 2 + ARC_BASE + (self.arc_levels - 1) * ARC_STEP

    @property
    def height(self) -> float:
        return self.text_top + TEXT_HEIGHT + ENT_BAR_OFFSET + self.ent_levels * ENT_STEP + PAD

    def arc_y(self, level: int) -> float:
        return self.text_top - ARC_BASE - level * ARC_STEP

    def ent_bar_y(self, level: int) -> float:
        return self.text_top + TEXT_HEIGHT + ENT_BAR_OFFSET + level * ENT_STEP


def token_advance(token: Token) -> Tuple[float, float]:
    """(width of the token's text, room it takes including the gap after it)."""
    if token.is_space:
        return 0.0, 0.0
    width = text_width(token.text, TEXT_SIZE)
    return width, width + (GAP_SPACE if token.space_after else GAP_NO_SPACE)


def allowed_breaks(n_tokens: int, entities: Sequence[Entity], arcs: Sequence[Arc]) -> Set[int]:
    """Token offsets a line may start at: not inside an entity, not between the two
    arguments of a relation."""
    blocked = [0] * (n_tokens + 1)  # difference array over "inside a range" counts
    ranges = [(e.start, e.end) for e in entities]
    for arc in arcs:
        head, tail = entities[arc.head], entities[arc.tail]
        ranges.append((min(head.start, tail.start), max(head.end, tail.end)))
    for start, end in ranges:
        if end - start > 1:
            blocked[start + 1] += 1
            blocked[end] -= 1
    allowed, inside = set(), 0
    for i in range(n_tokens):
        inside += blocked[i]
        if inside == 0:
            allowed.add(i)
    return allowed


_CLOSING = set(".,;:!?)]}%\u00bb\u201d\u2019\u2026")


def _spaced(before: Token, after: Token) -> bool:
    """May a line start at ``after``? Not inside glued text, nor at closing punctuation
    (corpora of pre-split tokens often have a space before "." and ",")."""
    if after.text and all(char in _CLOSING for char in after.text):
        return False
    return before.space_after or before.is_space or after.is_space


def break_lines(
    tokens: Sequence[Token], allowed: Set[int], forced: Set[int], max_width: float
) -> List[Tuple[int, int]]:
    """Token ranges of the lines. Runs of tokens between allowed breaks are wrapped like
    words: a new line at each forced break (sentence start, newline) and before a run
    that would make the line wider than ``max_width``, unless the line is still under a
    quarter full (no orphaned "The" before a long unbreakable run). Tokens glued together
    ("end" ".") are never split, and no line starts with closing punctuation."""
    advance = [token_advance(t)[1] for t in tokens]
    room = max_width - 2 * PAD
    bounds = [0] + sorted(
        b for b in allowed
        if 0 < b < len(tokens) and (b in forced or _spaced(tokens[b - 1], tokens[b]))
    ) + [len(tokens)]
    lines: List[Tuple[int, int]] = []
    line_start, width = 0, 0.0
    for start, end in zip(bounds, bounds[1:], strict=False):
        run = sum(advance[start:end])
        overflow = width + run > room and width > room / 4
        if start > line_start and (start in forced or overflow):
            lines.append((line_start, start))
            line_start, width = start, 0.0
        width += run
    lines.append((line_start, len(tokens)))
    return lines


def pack(intervals: Sequence[Tuple[float, float]]) -> List[int]:
    """The lowest level for each interval, in order, that no earlier one on that level
    overlaps."""
    levels: List[List[Tuple[float, float]]] = []
    placed = []
    for lo, hi in intervals:
        for level, taken in enumerate(levels):
            if all(hi + PACK_GAP <= other_lo or other_hi + PACK_GAP <= lo for other_lo, other_hi in taken):
                taken.append((lo, hi))
                placed.append(level)
                break
        else:
            levels.append([(lo, hi)])
            placed.append(len(levels) - 1)
    return placed


def _place_tokens(tokens: Sequence[Token], start: int, end: int, origin: float) -> List[PlacedToken]:
    placed, x = [], origin
    for i in range(start, end):
        width, advance = token_advance(tokens[i])
        placed.append(PlacedToken(i, tokens[i].text, x, width))
        x += advance
    return placed


def _place_entities(line: Line, entities: Sequence[Entity], members: List[int]) -> None:
    by_token = {t.i: t for t in line.tokens}
    order = sorted(members, key=lambda k: (entities[k].start, -(entities[k].end - entities[k].start), k))
    placed, intervals = [], []
    for k in order:
        ent = entities[k]
        x0 = by_token[ent.start].x
        last = by_token[ent.end - 1]
        x1 = max(last.x + last.width, x0 + 2)
        caption_width = text_width(ent.caption, ENT_LABEL_SIZE, bold=True)
        box_width = caption_width + 2 * ENT_BOX_PAD
        placed.append(PlacedEntity(k, x0, x1, 0, box_width, caption_width))
        intervals.append((x0, max(x1, x0 + box_width)))
    for item, level in zip(placed, pack(intervals), strict=True):
        item.level = level
    line.entities = placed
    line.ent_levels = 1 + max(levels) if (levels := [p.level for p in placed]) else 0


def _endpoints(line: Line, entities: Sequence[Entity], arcs: Sequence[Arc], members: List[int]) -> Dict:
    """x of each arc end, spread over the span's width and ordered by where the other
    end is, so arcs meeting at one span neither share a point nor cross needlessly."""
    spans = {p.index: p for p in line.entities}
    center = {k: (p.x0 + p.x1) / 2 for k, p in spans.items()}
    ends: Dict[int, List[Tuple[float, int, str]]] = {}
    for a in members:
        arc = arcs[a]
        ends.setdefault(arc.head, []).append((center[arc.tail], a, "head"))
        ends.setdefault(arc.tail, []).append((center[arc.head], a, "tail"))
    position = {}
    for k, items in ends.items():
        span = spans[k]
        items.sort(key=lambda item: (item[0], item[2] == "tail", item[1]))
        step = (span.x1 - span.x0) / (len(items) + 1)
        for n, (_, a, role) in enumerate(items, start=1):
            position[(a, role)] = span.x0 + n * step
    return position


def _place_arcs(line: Line, entities: Sequence[Entity], arcs: Sequence[Arc], members: List[int]) -> None:
    position = _endpoints(line, entities, arcs, members)
    placed = [
        PlacedArc(a, position[(a, "head")], position[(a, "tail")], 0, text_width(arcs[a].caption, REL_LABEL_SIZE))
        for a in members
    ]
    placed.sort(key=lambda p: (abs(p.x_tail - p.x_head), min(p.x_head, p.x_tail), p.index))
    intervals = []
    for p in placed:
        half = p.box_width / 2
        intervals.append((min(p.x_head, p.x_tail, p.center - half), max(p.x_head, p.x_tail, p.center + half)))
    for item, level in zip(placed, pack(intervals), strict=True):
        item.level = level
    line.arcs = placed
    line.arc_levels = 1 + max(p.level for p in placed) if placed else 0


def _layout_line(
    tokens: Sequence[Token], entities: Sequence[Entity], arcs: Sequence[Arc], span: Tuple[int, int], origin: float
) -> Line:
    start, end = span
    line = Line(start, end, tokens=_place_tokens(tokens, start, end, origin))
    _place_entities(line, entities, [k for k, e in enumerate(entities) if start <= e.start and e.end <= end])
    _place_arcs(line, entities, arcs, [a for a, arc in enumerate(arcs) if start <= entities[arc.head].start < end])
    return line


def _extent(line: Line) -> Tuple[float, float]:
    lows = [t.x for t in line.tokens] + [e.x0 for e in line.entities]
    highs = [t.x + t.width for t in line.tokens] + [max(e.x1, e.x0 + e.box_width) for e in line.entities]
    for arc in line.arcs:
        lows.append(min(arc.x_head, arc.x_tail, arc.center - arc.box_width / 2))
        highs.append(max(arc.x_head, arc.x_tail, arc.center + arc.box_width / 2))
    return min(lows, default=PAD), max(highs, default=PAD)


def layout(
    tokens: Sequence[Token],
    entities: Sequence[Entity],
    arcs: Sequence[Arc],
    sentence_starts: Optional[Set[int]] = None,
    max_width: float = 800,
) -> List[Line]:
    """Lay out one doc. Entities must lie within the doc's tokens and arcs must point at
    entities of the list; every one of them is placed on exactly one line."""
    forced = set(sentence_starts or ())
    forced.update(i + 1 for i, t in enumerate(tokens) if t.newline)
    spans = break_lines(tokens, allowed_breaks(len(tokens), entities, arcs), forced, max_width)
    lines = []
    for span in spans:
        line = _layout_line(tokens, entities, arcs, span, PAD)
        low, high = _extent(line)
        if low < PAD:  # an arc label sticks out on the left: shift the whole line
            line = _layout_line(tokens, entities, arcs, span, 2 * PAD - low)
            low, high = _extent(line)
        line.width = high + PAD
        lines.append(line)
    return lines
