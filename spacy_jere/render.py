"""Draw entities (overlapping ones too) and relations as SVG in HTML, the displaCy way.

    from spacy_jere.render import render, serve
    html = render(doc, options={"colors": {"PEOP": "#aa9cfc"}, "min_score": 0.5}, page=True)

``render`` returns the markup (or shows it in a Jupyter notebook, like
``spacy.displacy.render``); ``serve`` serves it on a local web server. Entities come from
``doc.spans[spans_key]``, relations from ``doc._.relations``. Options are listed in
``DEFAULT_OPTIONS``; colours follow displaCy (its entity colours, then
``registry.displacy_colors``, then ``options["colors"]``; labels matched case-insensitively),
and labels displaCy has no colour for get distinct ones from a fixed palette.
"""
import uuid
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from spacy.displacy.render import DEFAULT_ENTITY_COLOR, DEFAULT_LABEL_COLORS
from spacy.tokens import Doc, Span
from spacy.util import find_available_port, is_in_jupyter, registry

from .render_layout import Arc, Entity, Token, layout
from .render_svg import DrawnArc, DrawnEntity, Style, doc_html, line_svg, page_html

DEFAULT_OPTIONS: Dict[str, Any] = {
    "spans_key": "entities",  # doc.spans key holding the entities
    "colors": {},  # label -> CSS colour, on top of displaCy's
    "ents": None,  # entity labels to show (None: all); relations need both arguments shown
    "relations": None,  # relation labels to show (None: all)
    "min_score": 0.0,  # hide relations scored below this
    "show_scores": False,  # write scores next to labels (entity scores from doc.spans[key].attrs["scores"])
    "max_width": 800,  # px; longer lines wrap (never inside an entity or a relation)
    "split_sents": True,  # start a new line at each sentence (when the doc has sentence boundaries)
    "color": "#000",
    "bg": "#fff",
    "font": "Helvetica, Arial, 'Liberation Sans', sans-serif",
}

# Colours for labels displaCy has none for (its #ddd grey for all would make them alike).
PALETTE = (
    "#aa9cfc", "#7aecec", "#feca74", "#ff9561", "#bfeeb7", "#c887fb", "#9cc9cc", "#ffeb80", "#ff8197",
    "#f0d0ff", "#bfe1d9", "#e4e7d2", "#a3d5ff", "#ffc6a5", "#d6f5a3", "#f5b5e8",
)


@dataclass
class RenderStats:
    docs: int = 0
    lines: int = 0
    entities: int = 0
    relations: int = 0
    hidden_entities: int = 0  # by the "ents" option
    hidden_relations: int = 0  # by "relations", "min_score" or "ents"
    missing_spans_key: int = 0  # docs without doc.spans[spans_key]
    other_span_keys: set = field(default_factory=set)


def check_options(options: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The options merged over the defaults; a ValueError names a bad key or value."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise ValueError(f"unknown render option(s) {unknown}; known: {sorted(DEFAULT_OPTIONS)}")
    merged = {**DEFAULT_OPTIONS, **options}
    if not isinstance(merged["colors"], dict):
        raise ValueError(f"render option 'colors' must be a dict of label -> colour, got {merged['colors']!r}")
    for key in ("ents", "relations"):
        value = merged[key]
        if value is not None and (isinstance(value, str) or not all(isinstance(v, str) for v in value)):
            raise ValueError(f"render option {key!r} must be a list of labels or None, got {value!r}")
    if not isinstance(merged["min_score"], (int, float)) or not 0 <= merged["min_score"] <= 1:
        raise ValueError(f"render option 'min_score' must be a number in [0, 1], got {merged['min_score']!r}")
    if not isinstance(merged["max_width"], (int, float)) or merged["max_width"] < 100:
        raise ValueError(f"render option 'max_width' must be a number of px >= 100, got {merged['max_width']!r}")
    return merged


def _registry_colors() -> Dict[str, str]:
    colors: Dict[str, str] = {}
    for value in registry.displacy_colors.get_all().values():
        value = value() if callable(value) else value
        if isinstance(value, dict):
            colors.update(value)
    return colors


def label_colors(labels: Iterable[str], user_colors: Dict[str, str]) -> Dict[str, str]:
    """A colour for each label (upper-cased keys, as displaCy)."""
    known = {
        label.upper(): color
        for source in (DEFAULT_LABEL_COLORS, _registry_colors(), user_colors)
        for label, color in source.items()
    }
    colors = {}
    free = [c for c in PALETTE if c not in known.values()] or list(PALETTE)
    for n, label in enumerate(sorted({label.upper() for label in labels} - set(known))):
        colors[label] = free[n % len(free)]
    return {**colors, **{label: color for label, color in known.items()}}


def _doc_range(obj: Union[Doc, Span]) -> Tuple[Doc, int, int]:
    if isinstance(obj, Span):
        return obj.doc, obj.start, obj.end
    if isinstance(obj, Doc):
        return obj, 0, len(obj)
    raise TypeError(f"render() takes Docs or Spans, got a {type(obj).__name__}")


@dataclass
class _DocItems:
    """What one doc (or span) contributes: tokens, entities, relations, all within range."""

    doc: Doc
    start: int
    end: int
    entities: List[Tuple[int, int, str, Optional[float]]]  # doc offsets
    relations: List[Tuple[int, int, str, float]]  # indices into entities


def _collect(obj: Union[Doc, Span], opts: Dict[str, Any], stats: RenderStats) -> _DocItems:
    doc, start, end = _doc_range(obj)
    key = opts["spans_key"]
    group = doc.spans.get(key) if key in doc.spans else None
    if group is None:
        stats.missing_spans_key += 1
        stats.other_span_keys.update(doc.spans.keys())
    scores = list(group.attrs.get("scores", [])) if group is not None else []
    found: Dict[Tuple[int, int, str], Optional[float]] = {}
    for n, span in enumerate(group or []):
        found[(span.start, span.end, span.label_)] = scores[n] if len(scores) == len(group) else None
    relations = []
    for rel in doc._.relations:
        for arg in (rel.head, rel.tail):  # an argument missing from the span group is still drawn
            found.setdefault((arg.start, arg.end, arg.label_), None)
        relations.append((rel.head, rel.tail, rel.label, rel.score))
    inside = sorted(k for k in found if start <= k[0] and k[1] <= end)
    index = {k: n for n, k in enumerate(inside)}
    items = _DocItems(doc, start, end, [(*k, found[k]) for k in inside], [])
    for head, tail, label, score in relations:
        h, t = (head.start, head.end, head.label_), (tail.start, tail.end, tail.label_)
        if h in index and t in index:
            items.relations.append((index[h], index[t], label, score))
    return items


def _wanted(label: str, allowed: Optional[Sequence[str]]) -> bool:
    return allowed is None or label.upper() in {a.upper() for a in allowed}


def _caption(label: str, score: Optional[float], show: bool) -> str:
    return f"{label} {score:.2f}" if show and score is not None else label


def _filter(
    items: _DocItems, opts: Dict[str, Any], colors: Dict[str, str], stats: RenderStats
) -> Tuple[List[DrawnEntity], List[DrawnArc]]:
    """The entities and relations to draw, counting what the options hide. Entities get
    new indices, and token offsets counted from the start of the rendered range."""
    keep = [n for n, e in enumerate(items.entities) if _wanted(e[2], opts["ents"])]
    stats.hidden_entities += len(items.entities) - len(keep)
    new_index = {old: new for new, old in enumerate(keep)}
    doc = items.doc
    entities = []
    for n in keep:
        start, end, label, score = items.entities[n]
        tooltip = f"{label}: {doc[start:end].text}" + (f" ({score:.3f})" if score is not None else "")
        entity = Entity(start - items.start, end - items.start, _caption(label, score, opts["show_scores"]))
        entities.append(DrawnEntity(entity, label, colors.get(label.upper(), DEFAULT_ENTITY_COLOR), tooltip))
    arcs = []
    for head, tail, label, score in items.relations:
        shown = head in new_index and tail in new_index and _wanted(label, opts["relations"])
        if not shown or score < opts["min_score"]:
            stats.hidden_relations += 1
            continue
        tooltip = f"{doc[items.entities[head][0]:items.entities[head][1]].text} -{label}-> "
        tooltip += f"{doc[items.entities[tail][0]:items.entities[tail][1]].text} ({score:.3f})"
        caption = _caption(label, score, opts["show_scores"])
        arcs.append(DrawnArc(Arc(new_index[head], new_index[tail], caption), label, tooltip))
    return entities, arcs


def _tokens(doc: Doc, start: int, end: int) -> List[Token]:
    return [
        Token(t.text, bool(t.whitespace_), t.is_space, t.is_space and "\n" in t.text) for t in doc[start:end]
    ]


def _sentence_starts(doc: Doc, start: int, end: int) -> set:
    if not doc.has_annotation("SENT_START"):
        return set()
    return {t.i - start for t in doc[start:end] if t.is_sent_start and t.i > start}


def _doc_markup(items: _DocItems, opts: Dict[str, Any], colors: Dict[str, str], style: Style,
                stats: RenderStats) -> str:
    entities, arcs = _filter(items, opts, colors, stats)
    sentences = _sentence_starts(items.doc, items.start, items.end) if opts["split_sents"] else set()
    tokens = _tokens(items.doc, items.start, items.end)
    lines = layout(tokens, [d.entity for d in entities], [d.arc for d in arcs], sentences, opts["max_width"])
    prefix = f"jere-{uuid.uuid4().hex[:8]}"  # ids unique on a page (or notebook) with many renders
    svgs = [line_svg(line, entities, arcs, style, f"{prefix}-{n}") for n, line in enumerate(lines)]
    stats.docs += 1
    stats.lines += len(lines)
    stats.entities += len(entities)
    stats.relations += len(arcs)
    return doc_html(svgs, items.doc.user_data.get("title"))


def render_markup(
    docs: Union[Doc, Span, Iterable[Union[Doc, Span]]],
    options: Optional[Dict[str, Any]] = None,
    page: bool = False,
    warn: bool = True,
) -> Tuple[str, RenderStats]:
    """The markup and counts of what was drawn and hidden. ``warn``: warn when docs lack
    the spans key but have others (the CLI reports that itself)."""
    opts = check_options(options)
    docs = [docs] if isinstance(docs, (Doc, Span)) else list(docs)
    stats = RenderStats()
    collected = [_collect(obj, opts, stats) for obj in docs]
    labels = [e[2] for items in collected for e in items.entities]
    colors = label_colors(labels, opts["colors"])
    style = Style(opts["color"], opts["bg"], opts["font"])
    content = "".join(_doc_markup(items, opts, colors, style, stats) for items in collected)
    if warn and stats.missing_spans_key and stats.other_span_keys:
        warnings.warn(
            f"{stats.missing_spans_key} doc(s) have no doc.spans[{opts['spans_key']!r}]; span keys found: "
            f"{sorted(stats.other_span_keys)}. Set the 'spans_key' option to draw those.",
            stacklevel=3,
        )
    if page:
        lang = collected[0].doc.lang_ if collected else "en"
        content = page_html(content, style, lang=lang or "en")
    return content, stats


def render(
    docs: Union[Doc, Span, Iterable[Union[Doc, Span]]],
    options: Optional[Dict[str, Any]] = None,
    page: bool = False,
    jupyter: Optional[bool] = None,
) -> Optional[str]:
    """Entities and relations of the docs as HTML with inline SVG. In a Jupyter notebook
    (or with ``jupyter=True``) the markup is displayed and None returned, as displaCy does."""
    html, _ = render_markup(docs, options, page=page)
    if jupyter or (jupyter is None and is_in_jupyter()):
        from IPython.display import HTML, display

        # tex2jax_ignore: keep MathJax off "$" in the text, as displaCy does.
        display(HTML(f'<span class="tex2jax_ignore">{html}</span>'))
        return None
    return html


def make_app(html: str):
    """A WSGI app serving ``html`` on every path."""
    body = html.encode("utf8")

    def app(environ, start_response):
        start_response("200 OK", [("Content-type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def serve(
    docs: Union[Doc, Span, Iterable[Union[Doc, Span]]],
    options: Optional[Dict[str, Any]] = None,
    port: int = 5000,
    host: str = "0.0.0.0",
    auto_select_port: bool = False,
) -> None:
    """Serve the rendered page until interrupted (Ctrl-C), as ``spacy.displacy.serve``."""
    from wsgiref import simple_server

    html, _ = render_markup(docs, options, page=True)
    port = find_available_port(port, host, auto_select_port)
    httpd = simple_server.make_server(host, port, make_app(html))
    print(f"Serving on http://{host}:{port} ...")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        print(f"Shutting down server on port {port}.")
    finally:
        httpd.server_close()
