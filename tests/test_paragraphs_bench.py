"""The documents of N sentences that bench/paragraphs scores."""
import spacy

from spacy_jere.experiments.paragraphs import join_docs, table

from .conftest import TRAIN_DATA, make_doc


def gold_items(doc):
    ents = sorted((s.text, s.label_) for s in doc.spans["entities"])
    rels = sorted((r.head.text, r.tail.text, r.label) for r in doc._.relations)
    return ents, rels


def test_joined_doc_keeps_every_entity_and_relation_at_the_right_place():
    vocab = spacy.blank("en").vocab
    docs = [make_doc(vocab, *row) for row in TRAIN_DATA[:3]]
    joined = join_docs(vocab, docs)
    assert [s.text.strip() for s in joined.sents] == [d.text.strip() for d in docs]
    assert gold_items(joined) == join_items(docs)


def test_joined_doc_without_full_stops_is_one_text_without_them():
    vocab = spacy.blank("en").vocab
    docs = [make_doc(vocab, *row) for row in TRAIN_DATA[:3]]
    joined = join_docs(vocab, docs, drop_stops=True)
    assert "." not in joined.text
    assert len(joined) == sum(len(d) - 1 for d in docs)
    assert gold_items(joined) == join_items(docs)


def join_items(docs):
    ents = sorted(x for d in docs for x in gold_items(d)[0])
    rels = sorted(x for d in docs for x in gold_items(d)[1])
    return ents, rels


def test_table_has_a_row_per_case_and_a_column_per_setup():
    row = {"docs": 2, "ent_f": 80.0, "rel_f": 60.0, "rel_strict_f": 55.5, "dropped_pairs": 3}
    results = {"dataset": "toy", "command": "cmd", "model": "m", "machine": {"cpu": "x", "cores": 2},
               "setups": {s: {"1": row, "10, no full stops": row} for s in ("strided", "sentence", "shipped")}}
    text = table(results, ["1", "10, no full stops"])
    assert text.count("80.00 / 55.50 (3)") == 6
    assert "| 10, no full stops | 2 |" in text


def test_cases_and_the_predicted_docs_they_score():
    from spacy_jere.experiments.paragraphs import cases, predicted_doc

    assert cases([1, 3], [10]) == ["1", "3", "3, sentencizer", "1, raw text", "3, raw text", "10, no full stops"]
    vocab = spacy.blank("en").vocab
    joined = join_docs(vocab, [make_doc(vocab, *row) for row in TRAIN_DATA[:2]])
    kept = predicted_doc(vocab, joined, keep_sentences=True)
    assert [t.text for t in kept] == [t.text for t in joined]
    assert [s.start for s in kept.sents] == [s.start for s in joined.sents] == [0, 9]
    assert not predicted_doc(vocab, joined, keep_sentences=False).has_annotation("SENT_START")
