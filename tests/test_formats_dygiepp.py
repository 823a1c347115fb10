"""DyGIE++ JSONL in and out."""
import json

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from spacy_jere.convert import convert_file
from spacy_jere.formats.dygiepp import read_dygiepp
from spacy_jere.formats.dygiepp_out import write_dygiepp
from spacy_jere.formats.errors import ConversionError

DOCUMENT = {
    "doc_key": "news-1",
    "dataset": "conll04",
    "sentences": [["John", "Smith", "works", "for", "Acme", "."], ["He", "lives", "in", "New", "York", "."]],
    "ner": [[[0, 1, "Peop"], [4, 4, "Org"]], [[6, 6, "Peop"], [9, 10, "Loc"], [9, 9, "Loc"]]],
    "relations": [[[0, 1, 4, 4, "Work_For"]], [[6, 6, 9, 10, "Live_In"], [6, 6, 4, 4, "Work_For"]]],
}
SECOND = {"doc_key": "news-2", "dataset": "conll04", "sentences": [["Nothing", "."]], "ner": [[]], "relations": [[]]}


def write_lines(tmp_path, records, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def variant(**changes):
    record = json.loads(json.dumps(DOCUMENT))
    record.update(changes)
    return record


def test_one_doc_per_document_with_sentences(tmp_path):
    (doc, second), stats = read_dygiepp(write_lines(tmp_path, [DOCUMENT, SECOND]), Vocab())
    assert [[t.text for t in s] for s in doc.sents] == DOCUMENT["sentences"]
    assert [(s.text, s.label_) for s in doc.spans["entities"]] == [
        ("John Smith", "Peop"), ("Acme", "Org"), ("He", "Peop"), ("New York", "Loc"), ("New", "Loc")]
    assert [(r.head.text, r.label, r.tail.text) for r in doc._.relations] == [
        ("John Smith", "Work_For", "Acme"), ("He", "Live_In", "New York"), ("He", "Work_For", "Acme")]
    assert doc.has_unknown_spaces  # tokens kept as they are, like SpERT JSON
    assert (stats.docs, stats.sentences, stats.entities, stats.relations) == (2, 3, 5, 3)
    assert stats.cross_sentence_relations == 1  # He (sentence 1) -> Acme (sentence 0)


def test_round_trip_is_exact(tmp_path):
    convert_file(write_lines(tmp_path, [DOCUMENT, SECOND]), tmp_path / "corpus.spacy", format="dygiepp")
    docs = list(DocBin().from_disk(tmp_path / "corpus.spacy").get_docs(Vocab()))
    write_dygiepp(docs, tmp_path / "back.jsonl")
    back = [json.loads(line) for line in (tmp_path / "back.jsonl").read_text().splitlines()]
    assert back == [DOCUMENT, SECOND]


def test_every_bad_document_is_reported_with_its_line(tmp_path):
    records = [
        DOCUMENT,
        variant(ner=[[[0, 1, "Peop"]], [[3, 4, "Loc"]]], relations=[[], []]),  # sentence-level offsets
        variant(ner=[[]]),
        variant(relations=[[[0, 1, 3, 3, "Work_For"]], []]),
        "",
        variant(sentences=[["ok"], []], ner=None, relations=None),
        ["not", "an", "object"],
    ]
    with pytest.raises(ConversionError) as err:
        read_dygiepp(write_lines(tmp_path, records), Vocab())
    offsets = "DyGIE++ offsets count tokens from the start of the document and end is inclusive"
    assert err.value.problems == [
        f"line 2 (doc_key 'news-1'): ner[1][0]: tokens [3, 4] are not inside sentence 1 (tokens 6..11); {offsets}",
        "line 3 (doc_key 'news-1'): ner: expected one list per sentence (2), got 1 items",
        f"line 4 (doc_key 'news-1'): relations[0][0]: argument [3, 3] is not an entity in ner; {offsets}",
        "line 6 (doc_key 'news-1'): sentences[1]: not a non-empty list of tokens",
        "line 7: expected a JSON object, got list",
    ]
    assert "in 6 documents" in str(err.value) and "nothing was written" in str(err.value)


def test_bad_json_lines_are_all_listed(tmp_path):
    path = write_lines(tmp_path, [DOCUMENT, '{"doc_key": "x",', DOCUMENT, "[1, 2"])
    with pytest.raises(ConversionError) as err:
        read_dygiepp(path, Vocab())
    assert err.value.problems == [
        "line 2: not valid JSON at column 17: Expecting property name enclosed in double quotes",
        "line 4: not valid JSON at column 6: Expecting ',' delimiter",
    ]


def test_unused_fields_are_counted(tmp_path):
    record = variant(clusters=[[[0, 1], [6, 6]]], events=[[], []], predicted_ner=[[], []])
    _, stats = read_dygiepp(write_lines(tmp_path, [record]), Vocab())
    assert dict(stats.skipped) == {
        "coreference clusters (DyGIE++ 'clusters'): not used": 1,
        "DyGIE++ predicted_* fields (model output, not gold): not used": 1,
    }
