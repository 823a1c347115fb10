"""Prodigy rel.manual JSONL in."""
import json

import pytest
import spacy

from spacy_jere.formats.errors import ConversionError
from spacy_jere.formats.prodigy import read_prodigy


def tokens_of(nlp, text):
    return [{"text": t.text, "start": t.idx, "end": t.idx + len(t), "id": t.i, "ws": bool(t.whitespace_)}
            for t in nlp.make_doc(text)]


def span(nlp, text, word, label, nth=0):
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    doc = nlp.make_doc(text)
    found = doc.char_span(start, start + len(word))
    return {"start": start, "end": start + len(word), "token_start": found.start, "token_end": found.end - 1,
            "label": label}


def task(nlp, answer="accept"):
    text = "John Smith works for Acme. He lives in Boston."
    john, acme, boston = (span(nlp, text, "John Smith", "Peop"), span(nlp, text, "Acme", "Org"),
                          span(nlp, text, "Boston", "Loc"))
    return {
        "text": text, "tokens": tokens_of(nlp, text), "spans": [john, acme, boston],
        "relations": [
            {"head": john["token_end"], "child": acme["token_end"], "head_span": john, "child_span": acme,
             "label": "Work_For"},
            {"head": john["token_end"], "child": boston["token_end"], "head_span": john, "child_span": boston,
             "label": "Live_In"},
        ],
        "meta": {"id": "t-1"}, "_input_hash": 1, "_task_hash": 2, "answer": answer,
    }


def write_lines(tmp_path, records):
    path = tmp_path / "rel.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def nlp():
    return spacy.blank("en")


def test_accepted_tasks_become_docs_and_the_others_are_counted(tmp_path, nlp):
    path = write_lines(tmp_path, [task(nlp), task(nlp, "reject"), task(nlp, "ignore"), {"text": "raw"},
                                  task(nlp, "reject")])
    (doc,), stats = read_prodigy(path, nlp)
    assert [(s.text, s.label_) for s in doc.spans["entities"]] == [
        ("John Smith", "Peop"), ("Acme", "Org"), ("Boston", "Loc")]
    assert [(r.head.text, r.label, r.tail.text) for r in doc._.relations] == [
        ("John Smith", "Work_For", "Acme"), ("John Smith", "Live_In", "Boston")]
    assert len(list(doc.sents)) == 1  # a task is one sentence by default
    assert dict(stats.skipped) == {"rejected tasks (answer 'reject')": 2, "ignored tasks (answer 'ignore')": 1,
                                   "tasks without an answer (not annotated)": 1}


def test_sentences_can_come_from_the_sentencizer(tmp_path, nlp):
    (doc,), stats = read_prodigy(write_lines(tmp_path, [task(nlp)]), nlp, sentences="sentencizer")
    assert len(list(doc.sents)) == 2 and stats.cross_sentence_relations == 1


def test_without_tokens_spans_are_aligned_by_characters(tmp_path, nlp):
    record = task(nlp)
    del record["tokens"]
    record["spans"][0].update(end=8, token_start=None, token_end=None)  # "John Smi"
    record["relations"] = record["relations"][:1]
    record["relations"][0]["head_span"] = dict(record["spans"][0])
    (doc,), stats = read_prodigy(write_lines(tmp_path, [record]), nlp)
    assert doc.spans["entities"][0].text == "John Smith"
    assert stats.expanded_entities == 1  # the relation's copy of the span is not counted twice
    assert [r.head.text for r in doc._.relations] == ["John Smith"]


def test_relation_to_an_unlabelled_token_is_skipped_and_counted(tmp_path, nlp):
    record = task(nlp)
    works = {"start": 11, "end": 16, "token_start": 2, "token_end": 2, "label": None}
    record["relations"].append({"head": 2, "child": 4, "head_span": works, "child_span": record["spans"][1],
                                "label": "Does"})
    (doc,), stats = read_prodigy(write_lines(tmp_path, [record]), nlp)
    assert len(doc._.relations) == 2
    assert stats.skipped == {"relation whose argument is a token without an entity label": 1}
    assert stats.notes == ["line 1: relations[2]: relation whose argument is a token without an entity label"]


def test_problems_name_the_line_and_field(tmp_path, nlp):
    broken_tokens = task(nlp)
    broken_tokens["tokens"][1]["text"] = "Smyth"
    out_of_range = task(nlp)
    out_of_range["spans"][2]["token_end"] = 99
    no_text = task(nlp)
    no_text["text"] = ""
    with pytest.raises(ConversionError) as err:
        read_prodigy(write_lines(tmp_path, [task(nlp), broken_tokens, out_of_range, no_text]), nlp)
    assert err.value.problems == [
        "line 2: tokens: their text and 'ws' spell a different text from 'text' (first difference at character 7); "
        "fix the tokens or drop them to let spacy-jere tokenize the text",
        "line 3: spans[2]: token_start/token_end [9, 99] out of range for 11 tokens (end inclusive)",
        "line 3: relations[1].child_span: token_start/token_end [9, 99] out of range for 11 tokens (end inclusive)",
        "line 4: text: missing or empty",
    ]
