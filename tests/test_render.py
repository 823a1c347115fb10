"""The entity and relation picture: layout, markup, options, Jupyter/serve and the CLI
command. Geometry in a real browser is checked in test_render_browser.py."""
import sys
import threading
import types
import urllib.request
import xml.etree.ElementTree as ET

import pytest
import spacy
import typer
from spacy.tokens import Doc, DocBin, Span
from typer.testing import CliRunner

from spacy_jere import Relation
from spacy_jere.render import check_options, label_colors, make_app, render, render_markup, serve
from spacy_jere.render_cli import render_command
from spacy_jere.render_layout import PAD, Token, allowed_breaks, break_lines, text_width
from spacy_jere.render_layout import Arc as LayoutArc
from spacy_jere.render_layout import Entity as LayoutEntity

from .conftest import TRAIN_DATA, make_doc, make_examples

NESTED = (
    "The University of Texas at Austin hired Bob Stone .",
    [(1, 4, "Org"), (1, 6, "Org"), (3, 4, "Loc"), (5, 6, "Loc"), (7, 9, "Peop")],
    [(4, 1, "Work_For"), (3, 1, "Part_Of"), (2, 3, "Located_In")],
)


def parse(markup):
    """The markup (without page) as XML: it is well-formed, which this also checks."""
    return ET.fromstring(f"<root>{markup}</root>")


def by_class(root, name):
    return [el for el in root.iter() if name in (el.get("class") or "").split()]


def first(el, name):
    return by_class(el, name)[0]


def text_of(el):
    return "".join(el.itertext())


def num(el, attr):
    return float(el.get(attr))


@pytest.fixture
def docs(nlp):
    return [make_doc(nlp.vocab, w, e, r) for w, e, r in TRAIN_DATA]


@pytest.fixture
def nested(nlp):
    return make_doc(nlp.vocab, *NESTED)


def test_every_token_entity_and_relation_is_drawn(docs):
    root = parse(render(docs, jupyter=False))
    assert len(by_class(root, "jere-doc")) == len(docs)
    tokens = [text_of(t) for t in by_class(root, "jere-token")]
    assert tokens == [tok.text for doc in docs for tok in doc]
    ents = by_class(root, "jere-ent")
    assert sorted(e.get("data-label") for e in ents) == sorted(s.label_ for d in docs for s in d.spans["entities"])
    assert sorted(text_of(first(e, "jere-ent-label")) for e in ents) == sorted(e.get("data-label") for e in ents)
    rels = by_class(root, "jere-rel")
    assert sorted(r.get("data-label") for r in rels) == sorted(r.label for d in docs for r in d._.relations)
    labels = by_class(root, "jere-rel-label")
    captions = sorted(text_of(first(lab, "jere-rel-label-text")) for lab in labels)
    assert captions == sorted(r.get("data-label") for r in rels)


def test_arcs_point_from_head_span_to_tail_span(nested):
    root = parse(render(nested, jupyter=False))
    ents = {e.get("id"): e for e in by_class(root, "jere-ent")}
    drawn = set()
    for rel in by_class(root, "jere-rel"):
        head, tail = ents[rel.get("data-head")], ents[rel.get("data-tail")]
        drawn.add((int(head.get("data-start")), int(tail.get("data-start")), rel.get("data-label")))
        # The arrowhead's tip lies over the tail span's bar.
        tip_x = float(first(rel, "jere-rel-arrow").get("d").split()[0][1:].split(",")[0])
        bar = first(tail, "jere-ent-bar")
        assert num(bar, "x") <= tip_x <= num(bar, "x") + num(bar, "width")
    spans = nested.spans["entities"]
    assert drawn == {(spans[h].start, spans[t].start, label) for h, t, label in NESTED[2]}


def test_overlapping_entities_are_stacked_and_disjoint_ones_share_a_level(nested):
    root = parse(render(nested, jupyter=False))
    bar_y = {
        (int(e.get("data-start")), int(e.get("data-end"))): num(first(e, "jere-ent-bar"), "y")
        for e in by_class(root, "jere-ent")
    }
    overlapping = [(1, 4), (1, 6), (3, 4), (5, 6)]
    for i, a in enumerate(overlapping):
        for b in overlapping[i + 1:]:
            if a[0] < b[1] and b[0] < a[1]:
                assert bar_y[a] != bar_y[b], (a, b)
    assert bar_y[(1, 6)] == bar_y[(7, 9)] or bar_y[(1, 4)] == bar_y[(7, 9)]  # (7, 9) overlaps nothing


def test_arc_labels_do_not_overlap(nlp):
    # Many relations from one entity: every label box must have its own room.
    doc = make_doc(nlp.vocab, "A B C D E F", [(i, i + 1, "X") for i in range(6)],
                   [(0, i, f"Relation_{i}") for i in range(1, 6)] + [(5, 0, "Back")])
    root = parse(render(doc, jupyter=False))
    boxes = []
    for label in by_class(root, "jere-rel-label"):
        rect = first(label, "jere-rel-label-box")
        boxes.append((num(rect, "x"), num(rect, "y"), num(rect, "x") + num(rect, "width"),
                      num(rect, "y") + num(rect, "height")))
    assert len(boxes) == 6
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    for rect in boxes:
        assert rect[0] >= 0 and rect[1] >= 0


def test_text_is_escaped(nlp):
    doc = make_doc(nlp.vocab, ["<script>alert(1)</script>", "&", '"q"', "x'y"], [(0, 1, "<b>Org</b>")], [])
    spans = doc.spans["entities"]
    doc._.relations = [Relation(spans[0], spans[0], '"><img src=x onerror=alert(1)>')]
    doc.user_data["title"] = "<i>title</i>"
    markup = render(doc, options={"colors": {"<b>Org</b>": '"><script>'}}, jupyter=False)
    assert "<script" not in markup and "<img" not in markup and "<i>" not in markup and "<b>" not in markup
    root = parse(markup)  # still well-formed
    assert [text_of(t) for t in by_class(root, "jere-token")] == ["<script>alert(1)</script>", "&", '"q"', "x'y"]
    assert text_of(by_class(root, "jere-title")[0]) == "<i>title</i>"
    assert by_class(root, "jere-rel")[0].get("data-label") == '"><img src=x onerror=alert(1)>'


def test_sentences_start_new_lines_and_long_lines_wrap(nlp):
    sentencizer = nlp.add_pipe("sentencizer")
    words = " ".join(w for w, _, _ in TRAIN_DATA).split()
    doc = sentencizer(Doc(nlp.vocab, words=words))
    root = parse(render(doc, jupyter=False))
    lines = by_class(root, "jere-line")
    assert [(int(s.get("data-start")), int(s.get("data-end"))) for s in lines] == [
        (s.start, s.end) for s in doc.sents
    ]
    root = parse(render(doc, options={"split_sents": False, "max_width": 300}, jupyter=False))
    lines = by_class(root, "jere-line")
    assert len(lines) > 5
    assert all(num(line, "width") <= 300 for line in lines)
    assert [text_of(t) for t in by_class(root, "jere-token")] == words


def test_lines_never_break_inside_an_entity_or_between_relation_arguments(nlp):
    words = ["w"] * 40
    doc = make_doc(nlp.vocab, words, [(2, 4, "A"), (10, 22, "B"), (30, 31, "C")], [(0, 2, "R")])
    root = parse(render(doc, options={"max_width": 100}, jupyter=False))
    ranges = [(int(s.get("data-start")), int(s.get("data-end"))) for s in by_class(root, "jere-line")]
    assert ranges[0][0] == 0 and ranges[-1][1] == 40
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert any(start <= 2 and 31 <= end for start, end in ranges)  # the relation's range stays on one line
    assert len(ranges) > 2


def test_break_lines_units():
    tokens = [Token("word", True, False, False)] * 10
    assert break_lines(tokens, set(range(10)), {5}, 10_000) == [(0, 5), (5, 10)]
    assert break_lines(tokens, {0}, {5}, 10) == [(0, 10)]  # no allowed break: one wide line
    narrow = break_lines(tokens, set(range(10)), set(), 2 * PAD + 3 * 40)
    assert all(end - start <= 3 for start, end in narrow) and narrow[-1][1] == 10
    newline = [Token("a", False, False, False), Token("\n\n", False, True, True), Token("b", False, False, False)]
    assert break_lines(newline, {0, 1, 2}, {2}, 10_000) == [(0, 2), (2, 3)]
    assert break_lines([], set(), set(), 100) == [(0, 0)]
    # A run too wide for any line keeps a short start ("The") with it instead of orphaning it.
    the = [Token("The", True, False, False)] + tokens
    assert break_lines(the, {0, 1}, set(), 2 * PAD + 200) == [(0, 11)]
    assert break_lines(the * 3, {0, 1, 11, 12, 22, 23}, set(), 2 * PAD + 200) == [(0, 11), (11, 22), (22, 33)]
    # Glued tokens stay together: no line starts with the "." of "end.".
    glued = tokens[:5] + [Token("end", False, False, False), Token(".", False, False, False)]
    # Room for five words and "end" (5 * 41.7 + 27.7) but not for the "." (5.4) too.
    assert break_lines(glued, set(range(7)), set(), 2 * PAD + 238) == [(0, 5), (5, 7)]
    spaced = tokens[:5] + [Token("end", True, False, False), Token(".", True, False, False)]
    assert break_lines(spaced, set(range(7)), set(), 2 * PAD + 246) == [(0, 5), (5, 7)]


def test_allowed_breaks():
    ents = [LayoutEntity(1, 3, "A"), LayoutEntity(5, 6, "B"), LayoutEntity(8, 9, "C")]
    assert allowed_breaks(10, ents, [LayoutArc(1, 2, "r")]) == {0, 1, 3, 4, 5, 9}
    assert allowed_breaks(10, ents, [LayoutArc(2, 0, "r")]) == {0, 1, 9}


def test_text_width():
    assert text_width("", 16) == 0
    assert text_width("mmm", 16) > text_width("iii", 16) > 0
    assert text_width("Org", 11, bold=True) > text_width("Org", 11)
    assert text_width("東京", 16) == pytest.approx(32)
    assert text_width("e\u0301", 16) == text_width("e", 16)  # a combining accent takes no room


def test_colors_follow_displacy_and_options(nlp):
    colors = label_colors(["ORG", "Peop", "Loc", "Weird"], {"loc": "#123456"})
    assert colors["ORG"] == "#7aecec"  # displaCy's
    assert colors["LOC"] == "#123456"  # options win, case-insensitively
    assert colors["PEOP"] != colors["WEIRD"]  # unknown labels get distinct palette colours
    assert colors["PEOP"] not in ("#7aecec", "#123456")
    doc = make_doc(nlp.vocab, *TRAIN_DATA[0])
    root = parse(render(doc, options={"colors": {"Peop": "#abcdef"}}, jupyter=False))
    peop = [e for e in by_class(root, "jere-ent") if e.get("data-label") == "Peop"][0]
    assert first(peop, "jere-ent-bar").get("fill") == "#abcdef"


def test_filters_hide_and_count(docs):
    html, stats = render_markup(docs, {"ents": ["peop", "ORG"]})
    root = parse(html)
    assert {e.get("data-label") for e in by_class(root, "jere-ent")} == {"Peop", "Org"}
    assert {r.get("data-label") for r in by_class(root, "jere-rel")} == {"Work_For", "Kill"}
    n_rels = sum(len(d._.relations) for d in docs)
    assert stats.relations + stats.hidden_relations == n_rels
    assert stats.entities + stats.hidden_entities == sum(len(d.spans["entities"]) for d in docs)
    _, stats = render_markup(docs, {"relations": ["Live_In"]})
    assert stats.relations == 3 and stats.hidden_relations == n_rels - 3


def test_min_score_and_show_scores(nlp):
    doc = make_doc(nlp.vocab, *TRAIN_DATA[0])
    spans = doc.spans["entities"]
    doc.spans["entities"].attrs["scores"] = [0.91, 0.82, 0.73]
    doc._.relations = [Relation(spans[0], spans[1], "Work_For", 0.9), Relation(spans[1], spans[2], "OrgBased_In", 0.2)]
    root = parse(render(doc, options={"min_score": 0.5, "show_scores": True}, jupyter=False))
    assert [text_of(t) for t in by_class(root, "jere-rel-label-text")] == ["Work_For 0.90"]
    assert sorted(text_of(t) for t in by_class(root, "jere-ent-label")) == ["Loc 0.73", "Org 0.82", "Peop 0.91"]
    assert "(0.910)" in text_of(by_class(root, "jere-ent")[0].find("{*}title"))


@pytest.mark.parametrize(
    "options,message",
    [
        ({"colour": {}}, "unknown render option"),
        ({"min_score": 2}, "min_score"),
        ({"ents": "Org"}, "list of labels"),
        ({"max_width": 10}, "max_width"),
        ({"colors": ["red"]}, "colors"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        check_options(options)


def test_span_renders_its_range_only(nlp):
    doc = make_doc(nlp.vocab, *TRAIN_DATA[0])
    root = parse(render(doc[3:8], jupyter=False))
    assert [text_of(t) for t in by_class(root, "jere-token")] == "for Acme Corp in Boston".split()
    assert [r.get("data-label") for r in by_class(root, "jere-rel")] == ["OrgBased_In"]
    # Offsets in the markup count from the span's start, for tokens and entities alike.
    assert [int(t.get("data-i")) for t in by_class(root, "jere-token")] == [0, 1, 2, 3, 4]
    ents = {(int(e.get("data-start")), int(e.get("data-end"))): e.get("id") for e in by_class(root, "jere-ent")}
    assert set(ents) == {(1, 3), (4, 5)}
    rel = by_class(root, "jere-rel")[0]
    assert (rel.get("data-head"), rel.get("data-tail")) == (ents[(1, 3)], ents[(4, 5)])


def test_relation_arguments_missing_from_the_span_group_are_drawn(nlp):
    doc = make_doc(nlp.vocab, *TRAIN_DATA[1])
    head, tail = doc.spans["entities"]
    doc.spans["entities"] = [head]
    doc._.relations = [Relation(head, Span(doc, tail.start, tail.end, label="Loc"), "Live_In")]
    root = parse(render(doc, jupyter=False))
    assert sorted(e.get("data-label") for e in by_class(root, "jere-ent")) == ["Loc", "Peop"]
    assert len(by_class(root, "jere-rel")) == 1


def test_missing_spans_key_warns_with_the_keys_found(nlp):
    doc = make_doc(nlp.vocab, *TRAIN_DATA[1], spans_key="sc")
    with pytest.warns(UserWarning, match=r"span keys found: \['sc'\]"):
        render(doc, jupyter=False)
    root = parse(render(doc, options={"spans_key": "sc"}, jupyter=False))
    assert len(by_class(root, "jere-ent")) == 2


def test_empty_and_whitespace_docs(nlp):
    root = parse(render([Doc(nlp.vocab), nlp("  \n\n  ")], jupyter=False))
    assert len(by_class(root, "jere-doc")) == 2 and not by_class(root, "jere-token")


def test_page_is_a_full_self_contained_document(docs):
    page = render(docs, page=True, jupyter=False)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in page and "https://" not in page


def test_jupyter_displays_html(docs, monkeypatch):
    shown = []
    display = types.ModuleType("IPython.display")
    display.HTML = lambda markup: ("HTML", markup)
    display.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    assert render(docs[0], jupyter=True) is None
    assert shown[0][0] == "HTML" and 'class="jere-doc"' in shown[0][1]
    monkeypatch.setattr("spacy_jere.render.is_in_jupyter", lambda: True)
    assert render(docs[0]) is None and len(shown) == 2


def test_wsgi_app_and_serve(docs, monkeypatch):
    body = []
    app = make_app("<p>é</p>")
    assert app({}, lambda status, headers: body.append((status, dict(headers)))) == ["<p>é</p>".encode()]
    assert body[0][0] == "200 OK" and body[0][1]["Content-Length"] == str(len("<p>é</p>".encode()))

    from wsgiref.simple_server import WSGIServer

    # Serve exactly one request, then return (instead of serving until Ctrl-C).
    monkeypatch.setattr(WSGIServer, "serve_forever", lambda self: self.handle_request())
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    thread = threading.Thread(target=serve, args=(docs[:2],), kwargs={"port": port, "host": "127.0.0.1"})
    thread.start()
    for _ in range(50):
        try:
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode()
            break
        except OSError:
            thread.join(0.1)
    thread.join(10)
    assert not thread.is_alive()
    assert page.startswith("<!DOCTYPE html>") and page.count('class="jere-doc"') == 2


# The CLI command, through typer as the lead wires it: app.command("render")(render_command).
app = typer.Typer()
app.command("render")(render_command)
app.command("noop")(lambda: None)  # two commands, so "render" is a subcommand as in spacy_jere.cli


def run(*args, input=None):
    return CliRunner().invoke(app, ["render", *map(str, args)], input=input)


@pytest.fixture
def docbin_path(docs, tmp_path):
    path = tmp_path / "gold.spacy"
    DocBin(store_user_data=True, docs=docs).to_disk(path)
    return path


def test_cli_renders_a_docbin(docbin_path, tmp_path):
    out = tmp_path / "out" / "page.html"
    result = run(docbin_path, "--output", out, "--limit", 3, "--relation", "Work_For")
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf8")
    assert page.count('class="jere-doc"') == 3
    assert "gold.spacy #0" in page and "gold.spacy #2" in page
    assert "3 docs, 7 entities, 2 relations (0 entities and 2 relations hidden by filters)" in result.output


def test_cli_writes_stdout_without_output(docbin_path):
    result = CliRunner().invoke(app, ["render", str(docbin_path), "--limit", "1"])
    assert result.exit_code == 0
    assert "<!DOCTYPE html>" in result.stdout


@pytest.mark.parametrize(
    "make,extra,message",
    [
        (lambda p: p / "missing.spacy", [], "missing.spacy: file not found"),
        (lambda p: (p / "junk.spacy").write_bytes(b"\x00junk") and p / "junk.spacy", [], "not a DocBin"),
        (lambda p: DocBin().to_disk(p / "empty.spacy") or p / "empty.spacy", [], "holds no docs"),
        (lambda p: DocBin().to_disk(p / "x.spacy") or p / "x.spacy", ["some text"], "Texts are for a pipeline"),
        (lambda p: p / "no_such_pipeline", ["some text"], "neither a .spacy file nor a pipeline"),
        (lambda p: "blank:en", ["--input", "/no/such/file.txt"], "--input /no/such/file.txt: file not found"),
    ],
)
def test_cli_errors_are_clear(tmp_path, make, extra, message):
    result = run(make(tmp_path), *extra, "--output", tmp_path / "page.html")
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "page.html").exists()


def test_cli_reports_a_missing_spans_key(nlp, tmp_path):
    path = tmp_path / "sc.spacy"
    DocBin(store_user_data=True, docs=[make_doc(nlp.vocab, *TRAIN_DATA[0], spans_key="sc")]).to_disk(path)
    result = run(path, "--output", tmp_path / "page.html")
    assert result.exit_code == 0
    assert "1 docs have no doc.spans['entities']; span keys found: ['sc'] (use --spans-key)" in result.output


@pytest.fixture(scope="module")
def pipeline_path(tmp_path_factory):
    # An initialized, untrained pipeline is enough to exercise the pipeline path.
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("span_relation")
    nlp.initialize(lambda: make_examples(nlp))
    path = tmp_path_factory.mktemp("render") / "model"
    nlp.to_disk(path)
    return path


def test_cli_annotates_texts_with_a_pipeline(pipeline_path, tmp_path):
    out = tmp_path / "page.html"
    result = run(pipeline_path, "Mary Jones lives in Paris.", "Acme Corp hired <Bob>.", "--output", out)
    assert result.exit_code == 0, result.output
    body = out.read_text(encoding="utf8").split("<body", 1)[1].split(">", 1)[1].rsplit("</body>", 1)[0]
    tokens = [text_of(t) for t in by_class(parse(body), "jere-token")]
    assert tokens == "Mary Jones lives in Paris . Acme Corp hired < Bob > .".split()
    assert "2 docs" in result.output
    result = run(pipeline_path, "--output", out, input="One text .\n\nTwo text .\n")
    assert result.exit_code == 0 and "2 docs" in result.output
    text_file = tmp_path / "texts.txt"
    text_file.write_text("A.\nB.\nC.\n", encoding="utf8")
    result = run(pipeline_path, "--input", text_file, "--limit", 2, "--output", out)
    assert result.exit_code == 0 and "2 docs" in result.output
