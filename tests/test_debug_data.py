"""debug-data: the corpus statistics, the verdicts, and the command on DocBins and configs."""
import json

import pytest
import typer
from spacy.tokens import Doc, DocBin, Span
from typer.testing import CliRunner

from spacy_jere import Relation
from spacy_jere.debug_data import Settings, analyze_corpus, build_report
from spacy_jere.debug_data_cli import CONTEXT_SETTINGS, debug_data_command
from spacy_jere.debug_data_inputs import make_vocab, pipeline_segmenter
from spacy_jere.debug_data_report import FAIL, GOOD, INFO, WARN, findings, print_report

from .conftest import TRAIN_DATA, make_doc


def doc_with(vocab, words, entities, relations, sent_starts=None, spans_key="entities"):
    """Like conftest.make_doc, with sentence starts."""
    doc = Doc(vocab, words=words.split(), sent_starts=sent_starts)
    spans = [Span(doc, s, e, label=label) for s, e, label in entities]
    doc.spans[spans_key] = spans
    doc._.relations = [Relation(spans[h], spans[t], label) for h, t, label in relations]
    return doc


def corpus(vocab, data=TRAIN_DATA):
    return [make_doc(vocab, words, ents, rels) for words, ents, rels in data]


def levels(found, text):
    """The levels of the findings whose text contains ``text``."""
    return [f.level for f in found if text in f.text]


@pytest.fixture
def vocab():
    return make_vocab()  # what the command reads DocBins with: tokens know punctuation


# -- statistics ----------------------------------------------------------------

def test_counts_labels_and_signatures(vocab):
    stats = analyze_corpus(corpus(vocab), "train", Settings())
    assert (stats.docs, stats.sentences, stats.tokens) == (8, 8, sum(len(w.split()) for w, _, _ in TRAIN_DATA))
    assert stats.entity_labels == {"Peop": 7, "Org": 4, "Loc": 8}
    assert stats.relation_labels["Work_For"] == 3
    assert stats.signatures["Work_For"] == {"Peop -> Org": 3}
    assert stats.signatures["Located_In"] == {"Loc -> Loc": 2}
    assert all(issue.count == 0 for issue in stats.issues.values())


def test_too_wide_entities_and_their_relations(vocab):
    doc = make_doc(vocab, "The very long company name hired Bob", [(0, 5, "Org"), (6, 7, "Peop")], [(1, 0, "Work_For")])
    stats = analyze_corpus([doc], "train", Settings(max_span_width=4))
    wide = stats.issues["too_wide_entities"]
    assert wide.count == 1 and wide.examples[0] == {"doc": 0, "text": "The very long company name", "start": 0,
                                                    "end": 5, "label": "Org"}
    assert stats.issues["relations_with_too_wide_argument"].count == 1
    assert stats.widest_entity == 5
    unlimited = analyze_corpus([doc], "train", Settings(max_span_width=None))
    assert unlimited.issues["too_wide_entities"].count == 0


def test_nested_crossing_and_conflicting_entities(vocab):
    ents = [(0, 3, "Org"), (1, 2, "Loc"), (2, 5, "Org"), (0, 3, "Peop"), (0, 3, "Org"), (5, 6, "Loc")]
    doc = make_doc(vocab, "a b c d e f", ents, [])
    stats = analyze_corpus([doc], "train", Settings())
    issues = stats.issues
    # distinct spans [0,3) [1,2) [2,5) [5,6): [1,2) in [0,3); [0,3) and [2,5) cross
    assert issues["nested_entities"].count == 1
    assert issues["crossing_entities"].count == 1
    assert issues["conflicting_types"].count == 1
    conflict = issues["conflicting_types"].examples[0]
    assert conflict["labels"] == ["Org", "Peop"] and conflict["kept"] == "Org"
    assert issues["duplicate_entities"].count == 1
    found = findings(build_report([doc], None, Settings()))
    conflict_finding = next(f for f in found if "more than one type" in f.text)
    assert conflict_finding.level == WARN and "the first in doc.spans['entities'] order" in conflict_finding.text
    assert conflict_finding.examples == ["doc 0: 'a b c' [0:3] types Org, Peop (keeps Org)"]


def test_relation_problems(vocab):
    doc = make_doc(vocab, "a b c d e f", [(0, 2, "X"), (1, 3, "Y"), (4, 5, "Z")],
                   [(0, 1, "r"), (0, 2, "r"), (0, 2, "r"), (0, 2, "s")])
    stray = Span(doc, 5, 6, label="X")  # not an entity of the doc
    doc._.relations = list(doc._.relations) + [Relation(doc.spans["entities"][0], stray, "r")]
    stats = analyze_corpus([doc], "train", Settings())
    issues = stats.issues
    assert issues["relations_between_overlapping_entities"].count == 1
    assert issues["duplicate_relations"].count == 1
    assert issues["multi_label_pairs"].count == 1 and issues["multi_label_pairs"].examples[0]["labels"] == ["r", "s"]
    bad = issues["relation_arguments_not_entities"]
    assert bad.count == 1 and bad.examples[0]["tail"]["start"] == 5
    assert stats.relations == 5 and stats.relation_labels == {"r": 4, "s": 1}


def test_relations_and_entities_across_sentences(vocab):
    words = "Ann lives here . She works for Acme ."
    starts = [True, False, False, False, True, False, False, False, False]
    ents = [(0, 1, "Peop"), (2, 5, "Loc"), (7, 8, "Org")]
    doc = doc_with(vocab, words, ents, [(0, 2, "Work_For"), (0, 1, "Live_In")], sent_starts=starts)
    stats = analyze_corpus([doc], "train", Settings())
    assert stats.sentences == 2 and stats.longest_sentence == 5
    across = stats.issues["relations_across_sentences"]
    # Live_In's tail crosses the boundary but starts in Ann's sentence: only Work_For
    assert across.count == 2 - 1 and across.examples[0]["label"] == "Work_For"
    assert stats.issues["entities_across_sentences"].count == 1
    # Without sentence boundaries a doc is one sentence.
    flat = doc_with(vocab, words, [(0, 1, "Peop"), (7, 8, "Org")], [(0, 1, "Work_For")])
    flat_stats = analyze_corpus([flat], "train", Settings())
    assert flat_stats.docs_without_sentence_boundaries == 1
    assert flat_stats.issues["relations_across_sentences"].count == 0


def test_pipeline_segmenter_splits_like_the_pipeline(vocab):
    doc = doc_with(vocab, "Ann lives here . She works for Acme", [(0, 1, "Peop"), (7, 8, "Org")], [(0, 1, "Work_For")])
    segment = pipeline_segmenter(sentencizer=True)
    assert segment(doc).tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    stats = analyze_corpus([doc], "train", Settings(), segment)
    assert stats.issues["relations_across_sentences"].count == 1
    # long_sentence_splitter alone: cuts after the last punctuation in the second half
    cut = pipeline_segmenter(sentencizer=False, max_length=5)
    assert cut(doc).tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert pipeline_segmenter(sentencizer=False)(doc).tolist() == [0] * 8
    assert pipeline_segmenter(sentencizer=True)(Doc(vocab, words=[])).tolist() == []


def test_docs_without_annotation_and_duplicate_docs(vocab):
    docs = [make_doc(vocab, "a b", [], []), make_doc(vocab, "a b", [(0, 1, "X")], []), Doc(vocab, words=[])]
    stats = analyze_corpus(docs, "train", Settings())
    assert (stats.docs_without_entities, stats.docs_without_relations, stats.empty_docs) == (2, 3, 1)
    dup = stats.issues["duplicate_docs"]
    assert dup.count == 1 and dup.examples[0]["doc"] == 1 and dup.examples[0]["same_as_doc"] == 0


def test_train_dev_overlap_and_unseen_labels(vocab):
    train = corpus(vocab)
    dev = [make_doc(vocab, *TRAIN_DATA[1]),
           make_doc(vocab, "Rex bit Tim", [(0, 1, "Animal"), (2, 3, "Peop")], [(0, 1, "Bite")])]
    report = build_report(train, dev, Settings())
    assert report.train_dev_overlap.count == 1
    assert report.train_dev_overlap.examples[0]["train_doc"] == 1
    assert report.unseen_entity_labels == {"Animal": 1}
    assert report.unseen_relation_labels == {"Bite": 1}
    data = report.to_dict()
    json.dumps(data)  # plain data all the way down
    assert data["dev"]["entity_labels"]["Animal"] == 1 and "texts" not in data["train"]


# -- verdicts --------------------------------------------------------------------

def test_findings_on_a_clean_corpus(vocab):
    report = build_report(corpus(vocab), corpus(vocab)[:2], Settings())
    found = findings(report)
    assert not [f for f in found if f.level == FAIL]
    assert levels(found, "dev doc texts also in train") == [WARN]
    assert levels(found, "every dev relation label is in train") == [GOOD]
    assert levels(found, "train: every entity fits max_span_width = 10") == [GOOD]


def test_corpus_without_relations_learns_entities_only(vocab):
    docs = [make_doc(vocab, words, ents, []) for words, ents, _ in TRAIN_DATA]
    found = findings(build_report(docs, None, Settings()))
    assert levels(found, "only entities will be learned") == [WARN]
    assert levels(found, "no dev corpus") == [INFO]


def test_errors_no_docs_no_entities_bad_arguments(vocab):
    assert levels(findings(build_report([], None, Settings())), "train: no docs") == [FAIL]
    doc = make_doc(vocab, "a b c", [(0, 1, "X")], [], spans_key="ents")
    found = findings(build_report([doc], None, Settings()))
    # the hint names the key the docs do have
    assert [f.text for f in found if f.level == FAIL] == [
        "train: no entities in doc.spans['entities']; the docs have doc.spans keys ['ents']: pass --spans-key"]
    doc = make_doc(vocab, "a b c", [(0, 1, "X")], [])
    doc._.relations = [Relation(doc.spans["entities"][0], Span(doc, 2, 3, label="X"), "r")]
    found = findings(build_report([doc], None, Settings()))
    assert levels(found, "relations whose head or tail is not an entity") == [FAIL]


def test_flat_decoding_turns_nested_entities_into_warnings(vocab):
    doc = make_doc(vocab, "a b c", [(0, 3, "X"), (1, 2, "Y")], [])
    allow = findings(build_report([doc], None, Settings(entity_overlap="allow")))
    assert levels(allow, "one contains the other") == [INFO]
    flat = findings(build_report([doc], None, Settings(entity_overlap="flat")))
    assert levels(flat, "one contains the other") == [WARN]


def test_low_label_counts_and_printed_summary(vocab, capsys):
    report = build_report(corpus(vocab), None, Settings())
    found = findings(report)
    assert levels(found, "examples of relation label 'Kill': 1") == [WARN]
    n_errors = print_report(report, found)
    out = capsys.readouterr().out
    assert n_errors == 0
    assert "Summary" in out and "warning" in out and "Work_For (head -> tail types)" in out


# -- the command -----------------------------------------------------------------

def run(*args):
    app = typer.Typer(add_completion=False)
    app.command("debug-data", context_settings=CONTEXT_SETTINGS)(debug_data_command)

    @app.command()
    def other():  # with two commands, typer keeps the command name
        pass

    return CliRunner().invoke(app, ["debug-data", *map(str, args)])


def write(path, docs):
    doc_bin = DocBin(store_user_data=True)
    for doc in docs:
        doc_bin.add(doc)
    doc_bin.to_disk(path)
    return path


CONFIG = """
[paths]
train = null
dev = null

[nlp]
lang = "en"
pipeline = ["sentencizer","span_relation"]

[components]

[components.sentencizer]
factory = "sentencizer"

[components.span_relation]
factory = "span_relation"
spans_key = "ents"

[components.span_relation.suggester]
@misc = "spacy_jere.sentence_ngram_suggester.v1"
max_width = 2

[components.span_relation.model]
[components.span_relation.model.head]
entity_overlap = "flat"
"""


@pytest.fixture
def docbins(tmp_path, vocab):
    train = write(tmp_path / "train.spacy", corpus(vocab))
    dev = write(tmp_path / "dev.spacy", corpus(vocab)[:2])
    return train, dev


def test_command_on_docbins_writes_json(tmp_path, docbins):
    train, dev = docbins
    result = run(train, dev, "--json", tmp_path / "out" / "report.json", "--max-span-width", "1", "--examples", "1")
    assert result.exit_code == 0, result.output
    assert "dev doc texts also in train: 2" in result.output
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["errors"] == 0 and data["warnings"] >= 2
    assert data["report"]["settings"]["max_span_width"] == 1
    wide = data["report"]["train"]["issues"]["too_wide_entities"]
    assert wide["count"] == 10 and len(wide["examples"]) == 1


def test_command_exits_1_on_errors(tmp_path, vocab):
    doc = make_doc(vocab, "a b c", [(0, 1, "X")], [])
    doc._.relations = [Relation(doc.spans["entities"][0], Span(doc, 2, 3, label="X"), "r")]
    result = run(write(tmp_path / "bad.spacy", [doc]))
    assert result.exit_code == 1
    assert "1 error" in result.output
    assert run(write(tmp_path / "empty.spacy", [])).exit_code == 1


def test_command_reads_config_and_overrides(tmp_path, vocab, docbins):
    train, dev = docbins
    docs = [make_doc(vocab, words, ents, rels, spans_key="ents") for words, ents, rels in TRAIN_DATA]
    ents_train = write(tmp_path / "ents.spacy", docs)
    config = tmp_path / "config.cfg"
    config.write_text(CONFIG)
    result = run(config, "--paths.train", ents_train, f"--paths.dev={dev}")
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "spans_key: 'ents', max_span_width: 2" in out
    assert "the pipeline's sentencizer" in out
    assert "entity_overlap: 'flat'" in out
    assert "train: entities wider than max_span_width (2): 1" in out  # "The University of Texas"
    # dev has its entities under "entities", not the config's "ents": a warning that names the key
    assert "dev: no entities in doc.spans['ents']; the docs have doc.spans keys ['entities']" in out
    # --spans-key overrides the config
    result = run(config, "--paths.train", train, "--spans-key", "entities")
    assert result.exit_code == 0, result.output
    assert "no dev corpus" in result.output


@pytest.mark.parametrize("args, message", [
    (["{config}"], "paths.train is not set; pass --paths.train PATH"),
    (["{config}", "--paths.train", "{tmp}/missing.spacy"], "missing.spacy: no such file or directory"),
    (["{json}"], "convert SpERT JSON first"),
    (["{garbage}"], "not a readable DocBin"),
    (["{train}", "{train}", "--paths.dev", "x"], "unexpected arguments --paths.dev x"),
])
def test_command_input_errors(tmp_path, docbins, args, message):
    train, _ = docbins
    (tmp_path / "config.cfg").write_text(CONFIG)
    (tmp_path / "data.json").write_text("[]")
    (tmp_path / "garbage.spacy").write_bytes(b"not msgpack at all")
    paths = {"config": tmp_path / "config.cfg", "json": tmp_path / "data.json", "train": train,
             "garbage": tmp_path / "garbage.spacy", "tmp": tmp_path}
    result = run(*[arg.format(**paths) for arg in args])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
