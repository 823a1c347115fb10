"""The rendered page in a real browser: headless Chromium loads it, a small script in the
page measures what was drawn and writes it into the DOM, and ``--dump-dom`` hands it back.

Checked: every entity label and every relation label is drawn (non-zero size), lies inside
the page and inside its SVG (not clipped), is not hidden by CSS, is the topmost element at
its centre (not covered) and differs in colour from its box; tokens do not overlap; each
arc starts over its head span's tokens and its arrowhead ends over its tail span's tokens;
each entity bar lies under its tokens.

Skips when no Chromium is installed: run ``scripts/install_browser.sh`` (Debian; CI does),
or point SPACY_JERE_CHROMIUM at a Chromium or Chrome binary.
"""
import html
import json
import os
import re
import shutil
import subprocess
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from spacy.tokens import Doc, Span

from spacy_jere import Relation
from spacy_jere.render import make_app, render

from .conftest import TRAIN_DATA, make_doc

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_browser():
    configured = os.environ.get("SPACY_JERE_CHROMIUM")
    if configured:  # set on purpose: a wrong path fails the test rather than skipping it
        return shutil.which(configured) or configured
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


BROWSER = find_browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no Chromium found: run `bash scripts/install_browser.sh` (Debian) or set SPACY_JERE_CHROMIUM",
)

MEASURE = r"""
<script>
(function () {
  function box(el) {
    var r = el.getBoundingClientRect();
    return {x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height};
  }
  function shown(el) {
    var style = getComputedStyle(el);
    var checked = el.checkVisibility ? el.checkVisibility(
      {checkOpacity: true, checkVisibilityCSS: true, opacityProperty: true, visibilityProperty: true}) : true;
    return checked && style.visibility === "visible" && style.display !== "none" && parseFloat(style.opacity) > 0;
  }
  function onTop(el) {
    el.scrollIntoView({block: "center", inline: "center"});
    var r = el.getBoundingClientRect();
    var hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return !!hit && (hit === el || el.contains(hit));
  }
  function page(point, el) {  // an SVG user-space point in page coordinates
    var p = el.ownerSVGElement.createSVGPoint();
    p.x = point.x; p.y = point.y;
    p = p.matrixTransform(el.getScreenCTM());
    return {x: p.x + window.scrollX, y: p.y + window.scrollY};
  }
  function tokens(svg, start, end) {
    var found = [];
    svg.querySelectorAll(".jere-token").forEach(function (t) {
      var i = +t.dataset.i;
      if (i >= start && i < end) found.push(box(t));
    });
    return found;
  }
  var out = {labels: [], arcs: [], entities: [], lines: []};
  var labels = document.querySelectorAll(".jere-ent-label, .jere-rel-label-text");
  labels.forEach(function (el) {
    var backdrop = el.parentNode.querySelector("rect:last-of-type");
    out.labels.push({
      kind: el.classList.contains("jere-ent-label") ? "entity" : "relation", text: el.textContent,
      box: box(el), svg: box(el.ownerSVGElement), shown: shown(el),
      fill: getComputedStyle(el).fill, backdrop: getComputedStyle(backdrop).fill
    });
  });
  document.querySelectorAll(".jere-line").forEach(function (svg) {
    out.lines.push(Array.prototype.map.call(svg.querySelectorAll(".jere-token"), box));
    svg.querySelectorAll(".jere-ent").forEach(function (ent) {
      out.entities.push({label: ent.dataset.label, bar: box(ent.querySelector(".jere-ent-bar")),
                         tokens: tokens(svg, +ent.dataset.start, +ent.dataset.end)});
    });
    svg.querySelectorAll(".jere-rel").forEach(function (rel) {
      var head = document.getElementById(rel.dataset.head), tail = document.getElementById(rel.dataset.tail);
      var path = rel.querySelector(".jere-rel-arc");
      out.arcs.push({
        label: rel.dataset.label, head_label: head.dataset.label, tail_label: tail.dataset.label,
        start: page(path.getPointAtLength(0), path), arrow: box(rel.querySelector(".jere-rel-arrow")),
        head: tokens(svg, +head.dataset.start, +head.dataset.end),
        tail: tokens(svg, +tail.dataset.start, +tail.dataset.end)
      });
    });
  });
  out.page = {w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight};
  // Last, as it scrolls (the window, and wide lines' own scroll boxes) and so moves things.
  labels.forEach(function (el, n) { out.labels[n].on_top = onTop(el); });
  var pre = document.createElement("pre");
  pre.id = "jere-geometry";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def measure(page, tmp_path):
    """Serve the page on localhost, load it in headless Chromium and return the measurements."""
    if not (os.path.isfile(BROWSER) and os.access(BROWSER, os.X_OK)):
        pytest.fail(f"SPACY_JERE_CHROMIUM={BROWSER!r} is not an executable file")
    server = make_server("127.0.0.1", 0, make_app(page.replace("</body>", MEASURE + "</body>")),
                         handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    command = [
        BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-extensions", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1024",
        "--dump-dom", f"http://127.0.0.1:{server.server_port}/",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    found = re.search(r'<pre id="jere-geometry">(.*?)</pre>', result.stdout, re.S)
    assert found, f"{BROWSER} returned no measurements (exit {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def inside(inner, outer, slack=0.5):
    return (outer["x"] - slack <= inner["x"] and inner["x"] + inner["w"] <= outer["x"] + outer["w"] + slack
            and outer["y"] - slack <= inner["y"] and inner["y"] + inner["h"] <= outer["y"] + outer["h"] + slack)


def hull(boxes):
    x0, y0 = min(b["x"] for b in boxes), min(b["y"] for b in boxes)
    x1, y1 = max(b["x"] + b["w"] for b in boxes), max(b["y"] + b["h"] for b in boxes)
    return {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0}


def sample_docs(nlp):
    docs = [make_doc(nlp.vocab, w, e, r) for w, e, r in TRAIN_DATA]
    docs.append(make_doc(
        nlp.vocab, "The University of Texas at Austin hired Bob Stone & <Co> .",
        [(1, 4, "Org"), (1, 6, "Org"), (3, 4, "Loc"), (5, 6, "Loc"), (7, 9, "Peop"), (3, 6, "Loc")],
        [(4, 1, "Work_For"), (1, 4, "Employs"), (3, 1, "Part_Of"), (2, 3, "Located_In"), (0, 5, "Based_In")],
    ))
    # A paragraph that wraps, with a relation across a sentence boundary (kept on one line).
    sentencizer = nlp.add_pipe("sentencizer")
    words = " ".join(w for w, _, _ in TRAIN_DATA).split()
    long = sentencizer(Doc(nlp.vocab, words=words))
    offsets = [0]
    for w, _, _ in TRAIN_DATA:
        offsets.append(offsets[-1] + len(w.split()))
    ents = [(o + s, o + e, label) for o, (_, es, _) in zip(offsets, TRAIN_DATA, strict=False) for s, e, label in es]
    spans = [Span(long, s, e, label=label) for s, e, label in ents]
    long.spans["entities"] = spans
    long._.relations = [Relation(spans[0], spans[1], "Work_For"), Relation(spans[2], spans[3], "Across_Sentences"),
                        Relation(spans[9], spans[10], "Kill")]
    docs.append(long)
    return docs


def test_labels_and_arcs_are_drawn_visible_and_connected(nlp, tmp_path):
    docs = sample_docs(nlp)
    page = render(docs, options={"max_width": 500, "show_scores": True}, page=True, jupyter=False)
    geometry = measure(page, tmp_path)

    n_entities = sum(len(d.spans["entities"]) for d in docs)
    n_relations = sum(len(d._.relations) for d in docs)
    labels = geometry["labels"]
    assert sum(lab["kind"] == "entity" for lab in labels) == n_entities
    assert sum(lab["kind"] == "relation" for lab in labels) == n_relations
    everything = {"x": 0, "y": 0, **geometry["page"]}
    for lab in labels:
        what = f"{lab['kind']} label {lab['text']!r} at {lab['box']}"
        assert lab["box"]["w"] > 1 and lab["box"]["h"] > 1, f"{what} has no size"
        assert inside(lab["box"], everything), f"{what} lies outside the page {geometry['page']}"
        assert inside(lab["box"], lab["svg"]), f"{what} is clipped by its SVG {lab['svg']}"
        assert lab["shown"], f"{what} is hidden by CSS"
        assert lab["on_top"], f"{what} is covered by another element"
        assert lab["fill"] != lab["backdrop"], f"{what} has the colour of its box"
    assert {lab["text"].split()[0] for lab in labels if lab["kind"] == "relation"} == {
        r.label for d in docs for r in d._.relations
    }

    for tokens in geometry["lines"]:
        drawn = sorted(tokens, key=lambda b: b["x"])
        for left, right in zip(drawn, drawn[1:], strict=False):
            assert left["x"] + left["w"] <= right["x"] + 0.5, f"tokens overlap: {left} {right}"
    assert len(geometry["lines"]) > len(docs)  # the paragraph wrapped

    for ent in geometry["entities"]:
        under = hull(ent["tokens"])
        assert abs(ent["bar"]["x"] - under["x"]) < 1 and abs(ent["bar"]["w"] - under["w"]) < 1, ent
        assert ent["bar"]["y"] >= under["y"] + under["h"] - 1, f"{ent['label']} bar is not under its tokens"

    assert len(geometry["arcs"]) == n_relations
    for arc in geometry["arcs"]:
        head, tail = hull(arc["head"]), hull(arc["tail"])
        start, arrow = arc["start"], arc["arrow"]
        tip = {"x": arrow["x"] + arrow["w"] / 2, "y": arrow["y"] + arrow["h"]}
        what = f"arc {arc['label']} ({arc['head_label']} -> {arc['tail_label']})"
        assert head["x"] <= start["x"] <= head["x"] + head["w"], f"{what} does not start over its head span"
        assert tail["x"] <= tip["x"] <= tail["x"] + tail["w"], f"{what} does not point at its tail span"
        for point, span in ((start, head), (tip, tail)):
            assert span["y"] - 6 <= point["y"] <= span["y"] + 2, f"{what} does not end just above its span"
