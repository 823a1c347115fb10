"""--format auto, and what happens to inputs that are none of the formats."""
import json

import pytest

from spacy_jere.formats.detect import detect_format
from spacy_jere.formats.errors import ConversionError
from spacy_jere.formats.read import read_corpus

SPERT = [{"tokens": ["Acme", "hired", "Bob"], "entities": [{"type": "Org", "start": 0, "end": 1}], "relations": []}]
DYGIEPP = {"doc_key": "d", "sentences": [["Acme", "hired", "Bob"]], "ner": [[[0, 0, "Org"]]], "relations": [[]]}
PRODIGY = {"text": "Acme hired Bob", "spans": [{"start": 0, "end": 4, "label": "Org"}], "relations": [],
           "answer": "accept"}


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("name,content,expected", [
    ("a.json", json.dumps(SPERT), "spert"),
    ("a.json", "\ufeff  \n" + json.dumps(SPERT, indent=2), "spert"),
    ("a.jsonl", json.dumps(DYGIEPP) + "\n", "dygiepp"),
    ("a.json", json.dumps(PRODIGY) + "\n" + json.dumps(PRODIGY), "prodigy"),
])
def test_files_are_recognised_by_content(tmp_path, name, content, expected):
    path = write(tmp_path / name, content)
    assert detect_format(path) == expected
    docs, stats, fmt = read_corpus(path)
    assert fmt == expected and len(docs) >= 1 and stats.entities >= 1


def test_brat_folder_and_files(tmp_path):
    write(tmp_path / "corpus" / "deep" / "a.txt", "Acme hired Bob\n")
    write(tmp_path / "corpus" / "deep" / "a.ann", "T1\tOrg 0 4\tAcme\n")
    assert detect_format(tmp_path / "corpus") == "brat"
    assert detect_format(tmp_path / "corpus" / "deep" / "a.ann") == "brat"
    assert detect_format(tmp_path / "corpus" / "deep" / "a.txt") == "brat"
    (doc,), _, _ = read_corpus(tmp_path / "corpus" / "deep" / "a.txt")
    assert [s.text for s in doc.spans["entities"]] == ["Acme"]


@pytest.mark.parametrize("content,message", [
    ("", "0 documents: the file is empty"),
    ("tokens entities relations", "not a format spacy-jere reads (it starts with 'tokens entities relations')"),
    ('{"tokens": ["a"], "entities": []}\n', "line 1 is a SpERT record, but SpERT JSON is one list of records"),
    ('{"id": 3, "label": "x"}\n', "line 1: an object with keys ['id', 'label'], none of the formats"),
    ('{\n  "entities": {}\n}', "line 1 is not a JSON object on its own, so the file is not JSON Lines"),
])
def test_unknown_content_names_the_file_and_the_accepted_formats(tmp_path, content, message):
    path = write(tmp_path / "mystery.json", content)
    with pytest.raises(ConversionError) as err:
        read_corpus(path)
    assert message in str(err.value) and "mystery.json" in str(err.value)
    if "empty" not in message:
        assert "Accepted: SpERT JSON" in str(err.value) or "SpERT JSON is one list" in str(err.value)


def test_folder_without_ann_files(tmp_path):
    write(tmp_path / "texts" / "a.txt", "hello\n")
    with pytest.raises(ConversionError, match="a folder with 1 .txt files but no .ann files: 0 documents"):
        read_corpus(tmp_path / "texts")


def test_prodigy_file_with_nothing_accepted_is_refused_with_the_counts(tmp_path):
    rejected = dict(PRODIGY, answer="reject")
    path = write(tmp_path / "rel.jsonl", json.dumps(rejected) + "\n" + json.dumps({"text": "raw"}) + "\n")
    with pytest.raises(ConversionError) as err:
        read_corpus(path)
    assert err.value.problems == ["0 documents: nothing to train on (skipped: 1 rejected tasks (answer 'reject'), "
                                  "1 tasks without an answer (not annotated))"]


def test_bad_options_are_clear_errors(tmp_path):
    path = write(tmp_path / "a.json", json.dumps(SPERT))
    with pytest.raises(ConversionError, match="--format 'conll': expected auto or one of spert, brat"):
        read_corpus(path, "conll")
    with pytest.raises(ConversionError, match="--sentences 'paragraphs'"):
        read_corpus(path, sentences="paragraphs")
    with pytest.raises(ConversionError, match="--lang 'xx-nope'"):
        read_corpus(path, lang="xx-nope")
    with pytest.raises(ConversionError, match="--encoding 'utf-99' is not an encoding"):
        read_corpus(path, encoding="utf-99")


def test_types_file_checks_every_format(tmp_path):
    types = write(tmp_path / "types.json", json.dumps({"entities": {"Peop": {}}, "relations": {}}))
    path = write(tmp_path / "a.jsonl", json.dumps(DYGIEPP) + "\n")
    with pytest.raises(ConversionError) as err:
        read_corpus(path, types_path=types)
    assert err.value.problems == [f"entity type 'Org' (1 entities) is not in {types}"]
