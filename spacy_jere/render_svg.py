"""SVG and HTML markup for the lines laid out by render_layout.py.

Every piece of text (tokens, labels, titles, tooltips) and every option value that ends
up in an attribute goes through ``esc``, so doc text cannot inject markup. Elements carry
classes and data attributes (``jere-token``, ``jere-ent``, ``jere-rel``, ...) that
stylesheets and tests can select.
"""
from dataclasses import dataclass
from html import escape
from typing import Dict, List, Optional, Sequence

from .render_layout import (
    ARROW,
    ENT_BAR_HEIGHT,
    ENT_BOX_HEIGHT,
    ENT_BOX_PAD,
    ENT_LABEL_SIZE,
    REL_BOX_HEIGHT,
    REL_BOX_PAD,
    REL_LABEL_SIZE,
    TEXT_SIZE,
    Arc,
    Entity,
    Line,
    PlacedArc,
    PlacedEntity,
)


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class Style:
    color: str  # text and arcs
    bg: str
    font: str


@dataclass(frozen=True)
class DrawnEntity:
    """An entity with what its element says: colour and tooltip."""

    entity: Entity
    label: str
    color: str
    tooltip: str


@dataclass(frozen=True)
class DrawnArc:
    arc: Arc
    label: str
    tooltip: str


def _fit(width: float) -> str:
    # Pin the text to its estimated width, so the layout holds whatever the font.
    return f'textLength="{_n(width)}" lengthAdjust="spacingAndGlyphs"'


def _tokens(line: Line, top: float) -> List[str]:
    return [
        f'<text class="jere-token" data-i="{t.i}" x="{_n(t.x)}" y="{_n(top + TEXT_SIZE)}" '
        f'font-size="{TEXT_SIZE}" fill="currentColor" {_fit(t.width)}>{esc(t.text)}</text>'
        for t in line.tokens
        if t.width > 0
    ]


def _entity(line: Line, placed: PlacedEntity, drawn: DrawnEntity, ids: Dict[int, str]) -> str:
    ent = drawn.entity
    bar_y = line.ent_bar_y(placed.level)
    box_y = bar_y + ENT_BAR_HEIGHT + 1
    color = esc(drawn.color)
    return (
        f'<g class="jere-ent" id="{ids[placed.index]}" data-start="{ent.start}" data-end="{ent.end}" '
        f'data-label="{esc(drawn.label)}"><title>{esc(drawn.tooltip)}</title>'
        f'<rect class="jere-ent-bar" x="{_n(placed.x0)}" y="{_n(bar_y)}" width="{_n(placed.x1 - placed.x0)}" '
        f'height="{ENT_BAR_HEIGHT}" rx="1" fill="{color}"/>'
        f'<rect class="jere-ent-box" x="{_n(placed.x0)}" y="{_n(box_y)}" width="{_n(placed.box_width)}" '
        f'height="{ENT_BOX_HEIGHT}" rx="3" fill="{color}"/>'
        f'<text class="jere-ent-label" x="{_n(placed.x0 + ENT_BOX_PAD)}" y="{_n(box_y + ENT_BOX_HEIGHT - 3.5)}" '
        f'font-size="{ENT_LABEL_SIZE}" font-weight="bold" fill="#000" {_fit(placed.caption_width)}>'
        f"{esc(ent.caption)}</text></g>"
    )


def _arc_path(line: Line, placed: PlacedArc) -> str:
    """Up from the head, across at the arc's level, down to just above the tail's arrowhead."""
    y_end = line.text_top - 1
    y_top = line.arc_y(placed.level)
    x0, x1 = placed.x_head, placed.x_tail
    radius = min(5.0, abs(x1 - x0) / 2, (y_end - y_top) / 2)
    sign = 1 if x1 >= x0 else -1
    return (
        f"M{_n(x0)},{_n(y_end)} V{_n(y_top + radius)} Q{_n(x0)},{_n(y_top)} {_n(x0 + sign * radius)},{_n(y_top)} "
        f"H{_n(x1 - sign * radius)} Q{_n(x1)},{_n(y_top)} {_n(x1)},{_n(y_top + radius)} V{_n(y_end - ARROW)}"
    )


def _arc(line: Line, placed: PlacedArc, drawn: DrawnArc, ids: Dict[int, str], rel_id: str) -> str:
    y_end = line.text_top - 1
    x = placed.x_tail
    arrow = f"M{_n(x)},{_n(y_end)} L{_n(x - 3.5)},{_n(y_end - ARROW)} L{_n(x + 3.5)},{_n(y_end - ARROW)} Z"
    return (
        f'<g class="jere-rel" id="{rel_id}" data-head="{ids[drawn.arc.head]}" data-tail="{ids[drawn.arc.tail]}" '
        f'data-label="{esc(drawn.label)}"><title>{esc(drawn.tooltip)}</title>'
        f'<path class="jere-rel-arc" d="{_arc_path(line, placed)}" fill="none" stroke="currentColor" '
        f'stroke-width="1.2"/><path class="jere-rel-arrow" d="{arrow}" fill="currentColor"/></g>'
    )


def _arc_label(line: Line, placed: PlacedArc, drawn: DrawnArc, rel_id: str, style: Style) -> str:
    # Drawn after every arc, so an arc passing behind a label never hides it.
    y = line.arc_y(placed.level)
    x = placed.center - placed.box_width / 2
    return (
        f'<g class="jere-rel-label" data-rel="{rel_id}"><title>{esc(drawn.tooltip)}</title>'
        f'<rect class="jere-rel-label-box" x="{_n(x)}" y="{_n(y - REL_BOX_HEIGHT / 2)}" width="{_n(placed.box_width)}" '
        f'height="{REL_BOX_HEIGHT}" rx="3" fill="{esc(style.bg)}" stroke="currentColor" stroke-width="0.6"/>'
        f'<text class="jere-rel-label-text" x="{_n(x + REL_BOX_PAD)}" y="{_n(y + REL_LABEL_SIZE / 2 - 1.5)}" '
        f'font-size="{REL_LABEL_SIZE}" fill="currentColor" {_fit(placed.caption_width)}>'
        f"{esc(drawn.arc.caption)}</text></g>"
    )


def line_svg(
    line: Line,
    entities: Sequence[DrawnEntity],
    arcs: Sequence[DrawnArc],
    style: Style,
    prefix: str,
) -> str:
    """One line as an SVG element. ``prefix`` makes element ids unique on the page."""
    ids = {k: f"{prefix}-e{k}" for k in range(len(entities))}
    rel_ids = {p.index: f"{prefix}-r{p.index}" for p in line.arcs}
    parts = _tokens(line, line.text_top)
    parts += [_entity(line, p, entities[p.index], ids) for p in line.entities]
    parts += [_arc(line, p, arcs[p.index], ids, rel_ids[p.index]) for p in line.arcs]
    parts += [_arc_label(line, p, arcs[p.index], rel_ids[p.index], style) for p in line.arcs]
    width, height = _n(line.width), _n(line.height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="jere-line" data-start="{line.start}" '
        f'data-end="{line.end}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'style="display: block; max-width: none; height: {height}px; color: {esc(style.color)}; '
        f'background: {esc(style.bg)}; font-family: {esc(style.font)}">' + "".join(parts) + "</svg>"
    )


def doc_html(lines_svg: Sequence[str], title: Optional[str]) -> str:
    heading = ""
    if title:
        heading = f'<h2 class="jere-title" style="margin: 0 0 0.25rem 0; font-size: 1.1em">{esc(title)}</h2>'
    return (
        f'<figure class="jere-doc" style="margin: 0 0 1rem 0">{heading}'
        f'<div class="jere-lines" style="overflow-x: auto">{"".join(lines_svg)}</div></figure>'
    )


PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title}</title>
</head>
<body style="margin: 0; padding: 2rem; background: {bg}; color: {color}; font-family: {font}">
{content}
</body>
</html>
"""


def page_html(content: str, style: Style, lang: str = "en", title: str = "spacy-jere") -> str:
    return PAGE.format(
        lang=esc(lang), title=esc(title), bg=esc(style.bg), color=esc(style.color), font=esc(style.font),
        content=content,
    )
