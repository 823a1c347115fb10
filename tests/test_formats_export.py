"""python -m spacy_jere export: gold DocBins and a pipeline's predictions out as SpERT,
DyGIE++ and BRAT."""
import json

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_jere import Relation
from spacy_jere.cli import app
from spacy_jere.formats.errors import ConversionError
from spacy_jere.formats.export import load_docs, write_corpus
from spacy_jere.formats.read import read_corpus


@Language.component("test_capitalised_entities")
def capitalised_entities(doc):
    """A stand-in for a trained span_relation pipe: capitalised words are entities, the
    first one relates to each later one."""
    spans = [Span(doc, t.i, t.i + 1, label="Cap") for t in doc if t.text[:1].isupper()]
    doc.spans["entities"] = spans
    doc._.relations = [Relation(spans[0], span, "Next", 0.9) for span in spans[1:]]
    return doc


def run_cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def gold_docbin(tmp_path):
    vocab = Vocab()
    doc = Doc(vocab, words=["John", "met", "Mary", ".", "\n", "They", "left", "."],
              spaces=[True, True, False, False, False, True, False, False],
              sent_starts=[True, False, False, False, True, False, False, False])
    john, mary = Span(doc, 0, 1, label="Peop"), Span(doc, 2, 3, label="Peop")
    doc.spans["entities"] = [john, mary]
    doc._.relations = [Relation(john, mary, "Meets")]
    doc.user_data["spacy_jere.doc_id"] = "story"
    path = tmp_path / "gold.spacy"
    DocBin(docs=[doc], store_user_data=True).to_disk(path)
    return path


def test_gold_docbin_to_each_format(tmp_path):
    path = gold_docbin(tmp_path)
    result = run_cli("export", path, "--format", "spert", "--output", tmp_path / "out.json")
    assert result.exit_code == 0, result.stderr
    assert "1 docs, 2 entities, 1 relations" in result.stdout
    # the "\n" token is left out and the offsets after it move with it
    assert json.loads((tmp_path / "out.json").read_text()) == [{
        "tokens": ["John", "met", "Mary", ".", "They", "left", "."],
        "entities": [{"type": "Peop", "start": 0, "end": 1}, {"type": "Peop", "start": 2, "end": 3}],
        "relations": [{"type": "Meets", "head": 0, "tail": 1}], "orig_id": "story"}]
    assert run_cli("export", path, "--format", "dygiepp", "-o", tmp_path / "out.jsonl").exit_code == 0
    assert json.loads((tmp_path / "out.jsonl").read_text()) == {
        "doc_key": "story", "sentences": [["John", "met", "Mary", "."], ["They", "left", "."]],
        "ner": [[[0, 0, "Peop"], [2, 2, "Peop"]], []], "relations": [[[0, 0, 2, 2, "Meets"]], []]}
    assert run_cli("export", path, "--format", "brat", "-o", tmp_path / "brat").exit_code == 0
    assert (tmp_path / "brat" / "story.txt").read_text() == "John met Mary.\nThey left."
    assert (tmp_path / "brat" / "story.ann").read_text() == (
        "T1\tPeop 0 4\tJohn\nT2\tPeop 9 13\tMary\nR1\tMeets Arg1:T1 Arg2:T2\n")


def test_cli_errors_are_messages(tmp_path):
    path = gold_docbin(tmp_path)
    result = run_cli("export", path, "--format", "conll", "-o", tmp_path / "x")
    assert result.exit_code == 1 and "--format 'conll': expected one of spert, dygiepp, brat" in result.stderr
    (tmp_path / "folder").mkdir()
    result = run_cli("export", path, "--format", "spert", "-o", tmp_path / "folder")
    assert result.exit_code == 1 and "is a folder; --format spert writes one file" in result.stderr


@pytest.fixture
def pipeline():
    nlp = spacy.blank("en")
    nlp.add_pipe("test_capitalised_entities")
    return nlp


def test_predictions_on_texts_keep_the_document_names(tmp_path, pipeline):
    texts = tmp_path / "texts.txt"
    texts.write_text("Anna visited Rome.\n\nBob stayed home.\n")
    docs = load_docs(texts, pipeline)
    assert [d.user_data["spacy_jere.doc_id"] for d in docs] == ["line1", "line3"]
    assert [[s.text for s in d.spans["entities"]] for d in docs] == [["Anna", "Rome"], ["Bob"]]
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("Carl met Dana.")
    (doc,) = load_docs(folder, pipeline)
    assert doc.user_data["spacy_jere.doc_id"] == "sub/a" and doc.text == "Carl met Dana."
    write_corpus([doc], "brat", tmp_path / "pred", "entities")
    assert (tmp_path / "pred" / "sub" / "a.ann").read_text() == (
        "T1\tCap 0 4\tCarl\nT2\tCap 9 13\tDana\nR1\tNext Arg1:T1 Arg2:T2\n")


def test_predictions_on_a_gold_corpus_replace_its_annotations(tmp_path, pipeline):
    (doc,) = load_docs(gold_docbin(tmp_path), pipeline)
    assert [(s.text, s.label_) for s in doc.spans["entities"]] == [("John", "Cap"), ("Mary", "Cap"), ("They", "Cap")]
    assert [r.label for r in doc._.relations] == ["Next", "Next"]
    assert [s.text for s in doc.sents] == ["John met Mary.", "\nThey left."]  # the input's sentences
    assert doc.user_data["spacy_jere.doc_id"] == "story"


def test_cli_with_a_saved_pipeline(tmp_path, pipeline):
    pipeline.to_disk(tmp_path / "model")
    texts = tmp_path / "texts.txt"
    texts.write_text("Anna visited Rome.\n")
    result = run_cli("export", texts, "--model", tmp_path / "model", "--format", "spert", "-o", tmp_path / "p.json")
    assert result.exit_code == 0, result.stderr
    assert "(spert, predictions): 1 docs, 2 entities, 1 relations" in result.stdout
    (record,) = json.loads((tmp_path / "p.json").read_text())
    assert record["relations"] == [{"type": "Next", "head": 0, "tail": 1}] and record["orig_id"] == "line1"


def test_any_readable_corpus_can_be_exported(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "d.txt").write_text("Acme hired Bob.\n")
    (tmp_path / "in" / "d.ann").write_text("T1\tOrg 0 4\tAcme\nT2\tPeop 11 14\tBob\nR1\tEmploys Arg1:T1 Arg2:T2\n")
    result = run_cli("export", tmp_path / "in", "--format", "dygiepp", "-o", tmp_path / "d.jsonl")
    assert result.exit_code == 0, result.stderr
    docs, _, _ = read_corpus(tmp_path / "d.jsonl")
    assert [(r.head.text, r.label, r.tail.text) for r in docs[0]._.relations] == [("Acme", "Employs", "Bob")]
    with pytest.raises(ConversionError, match="0 documents to annotate"):
        empty = tmp_path / "empty.txt"
        empty.write_text("\n\n")
        load_docs(empty, spacy.blank("en"))
