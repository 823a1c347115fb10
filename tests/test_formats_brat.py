"""BRAT standoff in (folder of .txt + .ann) and out."""
import pytest
import spacy

from spacy_jere.formats.brat import read_brat
from spacy_jere.formats.brat_out import write_brat
from spacy_jere.formats.errors import ConversionError
from spacy_jere.formats.read import read_corpus

TEXT = "John Smith works for Acme Inc. in Boston.\nMary Jones lives in\nNew York.\n"


def offsets(text, word, nth=0):
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    return start, start + len(word)


def textbound(tid, label, text, word):
    start, end = offsets(text, word)
    return f"{tid}\t{label} {start} {end}\t{word}"


def write_doc(folder, name, text, ann_lines):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(text, encoding="utf8", newline="")
    (folder / f"{name}.ann").write_text("".join(line + "\n" for line in ann_lines), encoding="utf8")


def good_ann():
    return [
        textbound("T1", "Peop", TEXT, "John Smith"),
        textbound("T2", "Org", TEXT, "Acme Inc."),
        textbound("T3", "Loc", TEXT, "Boston"),
        textbound("T4", "Peop", TEXT, "Mary Jones"),
        "R1\tWork_For Arg1:T1 Arg2:T2",
        "R2\tOrgBased_In Arg1:T2 Arg2:T3",
        "R3\tLive_In Arg1:T4 Arg2:T3",
    ]


@pytest.fixture
def nlp():
    return spacy.blank("en")


def test_one_doc_per_document_with_sentences_entities_and_relations(tmp_path, nlp):
    write_doc(tmp_path, "news", TEXT, good_ann())
    (doc,), stats = read_brat(tmp_path, nlp)
    assert doc.text == TEXT  # the text is kept as it is
    assert [(s.text, s.label_) for s in doc.spans["entities"]] == [
        ("John Smith", "Peop"), ("Acme Inc.", "Org"), ("Boston", "Loc"), ("Mary Jones", "Peop")]
    assert [(r.head.text, r.label, r.tail.text) for r in doc._.relations] == [
        ("John Smith", "Work_For", "Acme Inc."), ("Acme Inc.", "OrgBased_In", "Boston"),
        ("Mary Jones", "Live_In", "Boston")]
    assert [s.text.strip() for s in doc.sents][:2] == ["John Smith works for Acme Inc. in Boston.",
                                                       "Mary Jones lives in\nNew York."]
    # Live_In joins sentence 1 and sentence 0: kept in the Doc, counted for the user
    assert stats.cross_sentence_relations == 1 and stats.relations == 3
    assert stats.expanded_entities == 0 and not stats.skipped


def test_sentences_from_lines_or_none(tmp_path, nlp):
    write_doc(tmp_path, "news", TEXT, good_ann())
    (doc,), stats = read_brat(tmp_path, nlp, sentences="lines")
    assert [s.text.strip() for s in doc.sents] == ["John Smith works for Acme Inc. in Boston.",
                                                   "Mary Jones lives in", "New York."]
    (doc,), stats = read_brat(tmp_path, nlp, sentences="none")
    assert len(list(doc.sents)) == 1 and stats.cross_sentence_relations == 0


def test_an_entity_is_never_split_by_a_sentence_boundary(tmp_path, nlp):
    text = "He met Dr. Who. Then he left.\n"
    write_doc(tmp_path, "d", text, [textbound("T1", "Peop", text, "Dr. Who. Then")])
    (doc,), stats = read_brat(tmp_path, nlp)  # the sentencizer starts a sentence at "Then"
    (span,) = doc.spans["entities"]
    assert span.sent.start <= span.start and span.end <= span.sent.end
    assert stats.sentence_starts_removed == 1


def test_offsets_inside_tokens_are_widened_and_reported(tmp_path, nlp):
    text = "U.S.-based Globex hired Mary.\n"
    write_doc(tmp_path, "d", text, [textbound("T1", "Loc", text, "U.S."), textbound("T2", "Org", text, "Globex"),
                                    "R1\tBased_In Arg1:T2 Arg2:T1"])
    (doc,), stats = read_brat(tmp_path, nlp)
    assert [s.text for s in doc.spans["entities"]] == ["U.S.-based", "Globex"]
    assert stats.expanded_entities == 1
    assert stats.notes == ["d.ann line 1 (T1): 'U.S.' widened to whole tokens 'U.S.-based'"]
    assert len(doc._.relations) == 1


def test_unsupported_annotations_are_skipped_and_counted_by_line(tmp_path, nlp):
    start, end = offsets(TEXT, "New")
    lines = good_ann() + [
        f"T5\tLoc {start} {end};{end + 1} {end + 5}\tNew York",  # split at a space: one span
        f"T6\tPeop {offsets(TEXT, 'John')[0]} {offsets(TEXT, 'John')[1]};{offsets(TEXT, 'Mary')[0]} "
        f"{offsets(TEXT, 'Mary')[1]}\tJohn Mary",  # really discontinuous
        "R4\tKnows Arg1:T6 Arg2:T4",
        "E1\tMove:T4 Dest:T3",
        "A1\tNegated T1",
        "#1\tAnnotatorNotes T1\tcheck this",
        "*\tEquiv T1 T4",
    ]
    write_doc(tmp_path, "news", TEXT, lines)
    (tmp_path / "draft.txt").write_text("not annotated yet\n")
    (doc,), stats = read_brat(tmp_path, nlp)
    assert "New York" in [s.text for s in doc.spans["entities"]]
    assert dict(stats.skipped) == {
        "discontinuous entity (several fragments): not supported; relations using it are skipped too": 1,
        "relation whose argument was skipped (a discontinuous entity or an event)": 1,
        "event (E line): events are not supported": 1,
        "attribute (A line): attributes are not used": 1,
        "note (# line): not used": 1,
        "equivalence (* line): not used": 1,
        ".txt file without a .ann file (not annotated)": 1,
    }
    assert "news.ann line 9 (T6): discontinuous entity" in "\n".join(stats.notes)
    assert "draft.txt: .txt file without a .ann file (not annotated)" in stats.notes


def test_every_problem_is_listed_with_file_and_line(tmp_path, nlp):
    write_doc(tmp_path, "a", TEXT, [
        "T1\tPeop 0 4\tMary",  # text differs from the .txt
        "T2\tPeop 0 10\tJohn Smith",
        "R1\tKnows Arg1:T2 Arg2:T9",
        "T3\tOrg five six\tAcme",
        "Q1\tsomething",
        f"T4\tLoc 30 {len(TEXT) + 5}\tfar",
    ])
    (tmp_path / "b.ann").write_text("T1\tPeop 0 4\tJohn\n")
    with pytest.raises(ConversionError) as err:
        read_brat(tmp_path, nlp)
    assert err.value.problems == [
        "a.ann line 4: expected 'ID<TAB>TYPE START END<TAB>TEXT', got 'T3\\tOrg five six\\tAcme'",
        "a.ann line 5: 'Q1\\tsomething' is not a BRAT annotation (lines start with T, R, E, A, M, N, # or *)",
        "a.ann line 1 (T1): the .ann text 'Mary' differs from the .txt characters 0-4 'John'; "
        "the offsets do not match this .txt.",
        f"a.ann line 6 (T4): offsets end at {len(TEXT) + 5}, beyond the end of the .txt ({len(TEXT)} characters)",
        "a.ann line 3 (R1): T9 is not a T annotation of this file",
        "b.ann: b.txt does not exist (a BRAT document is NAME.txt + NAME.ann)",
    ]
    assert "nothing was written" in str(err.value)


def test_windows_line_endings_get_a_hint(tmp_path, nlp):
    text = "Hello there.\r\nJohn Smith left.\r\n"
    start = text.replace("\r\n", "\n").index("John")  # offsets counted without the \r
    write_doc(tmp_path, "d", text, [f"T1\tPeop {start} {start + 10}\tJohn Smith"])
    with pytest.raises(ConversionError, match="Windows line endings"):
        read_brat(tmp_path, nlp)


def test_latin1_text_is_reported_with_the_file(tmp_path, nlp):
    write_doc(tmp_path, "d", TEXT, good_ann())
    (tmp_path / "d.txt").write_bytes("Café\n".encode("latin-1"))
    with pytest.raises(ConversionError) as err:
        read_brat(tmp_path, nlp)
    assert err.value.problems[0].startswith("d.txt: not valid utf-8 text: byte 3 (line 1, column 4) is 0xe9")


def test_round_trip_keeps_text_and_t_r_content(tmp_path, nlp):
    sub = tmp_path / "in" / "part1"
    write_doc(sub, "news", TEXT, good_ann())
    start, end = offsets(TEXT, "New York")
    first, line_end = offsets(TEXT, "Mary Jones lives in")
    write_doc(tmp_path / "in", "other", TEXT, [
        textbound("T1", "Peop", TEXT, "Mary Jones"), f"T2\tLoc {start} {end}\tNew York",
        # a mention across a line break: brat writes two fragments
        f"T3\tEvent {first} {line_end};{start} {end}\tMary Jones lives in New York",
        textbound("T4", "Org", TEXT, "Acme"), textbound("T5", "Org", TEXT, "Acme Inc."),  # nested
        "R1\tLive_In Arg1:T1 Arg2:T2",
    ])
    docs, _, fmt = read_corpus(tmp_path / "in")
    assert fmt == "brat"
    write_brat(docs, tmp_path / "out")
    for name in ("part1/news", "other"):
        assert (tmp_path / "out" / f"{name}.txt").read_bytes().decode("utf8") == TEXT
        assert content(tmp_path / "in" / f"{name}.ann", TEXT) == content(tmp_path / "out" / f"{name}.ann", TEXT)
    conf = (tmp_path / "out" / "annotation.conf").read_text()
    assert "Live_In\tArg1:Peop, Arg2:Loc" in conf and "<OVERLAP>" in conf
    with pytest.raises(ConversionError, match="already holds .ann files"):
        write_brat(docs, tmp_path / "out")


def content(ann_path, text):
    """T lines as (type, offsets, text) and R lines as (type, head T, tail T), ids resolved."""
    lines = [line.split("\t") for line in ann_path.read_text().splitlines()]
    spans = {f[0]: (f[1].split(" ", 1)[0], f[1].split(" ", 1)[1], f[2]) for f in lines if f[0].startswith("T")}
    relations = set()
    for f in lines:
        if f[0].startswith("R"):
            label, arg1, arg2 = f[1].split()
            relations.add((label, spans[arg1.split(":")[1]], spans[arg2.split(":")[1]]))
    return set(spans.values()), relations
