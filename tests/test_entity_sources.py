"""Entities from another component (entities_from) and entities written to doc.ents."""
import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example

from spacy_jere.entity_sources import flat_by_confidence, write_ents

from .conftest import TRAIN_DATA, make_doc, make_examples, train

# What a spaCy NER upstream would find: the gold entities of TRAIN_DATA as ruler patterns.
PATTERNS = sorted({(" ".join(words.split()[s:e]), label) for words, ents, _ in TRAIN_DATA for s, e, label in ents})


@pytest.fixture(scope="module")
def with_upstream_ner():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler")
    nlp.add_pipe("span_relation", config={"entities_from": "ents"})
    losses = train(nlp, make_examples(nlp), n_iter=40)
    ruler.add_patterns([{"label": label, "pattern": text} for text, label in PATTERNS])  # initialize clears them
    return nlp, losses


def test_relations_between_the_upstream_entities(with_upstream_ner):
    nlp, losses = with_upstream_ner
    assert losses[-1] < 0.5 * losses[0]  # the relation loss alone is learned
    doc = nlp("John Smith works for Acme Corp in Boston .")
    assert "entities" not in doc.spans  # the pipe writes no entities of its own
    ents = list(doc.ents)
    assert [(e.text, e.label_) for e in ents] == [("John Smith", "Peop"), ("Acme Corp", "Org"), ("Boston", "Loc")]
    rels = {(r.head.text, r.label, r.tail.text) for r in doc._.relations}
    assert ("John Smith", "Work_For", "Acme Corp") in rels
    assert all(r.head in ents and r.tail in ents for r in doc._.relations)


def test_scores_the_upstream_entities_and_the_relations(with_upstream_ner):
    nlp, _ = with_upstream_ner
    scores = nlp.evaluate(make_examples(nlp))
    assert scores["ent_f"] == 1.0  # the ruler's entities, read from doc.ents
    assert scores["rel_strict_f"] > 0.8


def test_an_entity_label_the_pipe_never_saw_still_gets_relations_decided(with_upstream_ner):
    nlp, _ = with_upstream_ner
    doc = nlp.make_doc("John Smith works for Acme Corp in Boston .")
    doc.ents = [Span(doc, 0, 2, "PERSON"), Span(doc, 4, 6, "Org")]
    for name, proc in nlp.pipeline:
        if name != "entity_ruler":
            doc = proc(doc)
    assert all(r.head.label_ == "PERSON" for r in doc._.relations if r.head.start == 0)
    assert len(doc.ents) == 2


def test_no_upstream_entities_gives_no_relations(with_upstream_ner):
    nlp, _ = with_upstream_ner
    doc = nlp("Nothing here matches .")
    assert doc.ents == () and doc._.relations == ()


def test_span_group_as_the_source():
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe("span_relation", config={"entities_from": "upstream", "spans_key": "entities"})
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=5)
    doc = make_doc(nlp.vocab, *TRAIN_DATA[0], spans_key="upstream")
    doc = pipe(doc)
    assert {(r.head.text, r.tail.text) for r in doc._.relations} <= {
        (a.text, b.text) for a in doc.spans["upstream"] for b in doc.spans["upstream"]}
    assert "entities" not in doc.spans


def test_source_and_spans_key_must_differ():
    with pytest.raises(ValueError, match="entities_from and spans_key"):
        spacy.blank("en").add_pipe("span_relation", config={"entities_from": "entities"})


def test_flat_selection_prefers_the_most_confident():
    doc = Doc(spacy.blank("en").vocab, words="a b c d e".split())
    spans = [Span(doc, 0, 3, "X"), Span(doc, 1, 2, "Y"), Span(doc, 3, 5, "Z")]
    assert flat_by_confidence(spans, [0.5, 0.9, 0.1]) == [spans[1], spans[2]]
    assert flat_by_confidence(spans, [0.9, 0.5, 0.1]) == [spans[0], spans[2]]


def test_write_ents_keeps_other_components_entities_where_ours_leave_room():
    doc = Doc(spacy.blank("en").vocab, words="a b c d e f".split())
    doc.ents = [Span(doc, 0, 1, "THEIRS"), Span(doc, 4, 6, "THEIRS")]
    write_ents(doc, [Span(doc, 0, 2, "OURS"), Span(doc, 1, 3, "OURS")], [0.9, 0.4])
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [(0, 2, "OURS"), (4, 6, "THEIRS")]


def test_write_ents_option_sets_doc_ents_from_overlapping_predictions():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("span_relation", config={"write_ents": True, "model": {"head": {
        "@architectures": "spacy_jere.SpERTHead.v1", "entity_overlap": "allow",
        "span_classifier": {"@architectures": "spacy_jere.LinearClassifier.v1"},
        "relation_classifier": {"@architectures": "spacy_jere.LinearClassifier.v1"}}}})
    train(nlp, make_examples(nlp), n_iter=30)
    doc = nlp("John Smith works for Acme Corp in Boston .")
    assert len(doc.ents) > 0
    assert {(e.start, e.end, e.label_) for e in doc.ents} <= {(s.start, s.end, s.label_) for s in doc.spans["entities"]}
    example = Example(doc, doc)
    assert example.get_aligned_ner()  # spaCy tools that read doc.ents see them


def test_annotating_sentencizer_segments_training_docs_before_the_pipe():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    pipe = nlp.add_pipe("span_relation")
    two_sentences = [(TRAIN_DATA[0][0] + " " + TRAIN_DATA[1][0], TRAIN_DATA[0][1] + [(s + 9, e + 9, lab) for s, e, lab
                      in TRAIN_DATA[1][1]], TRAIN_DATA[0][2] + [(h + 3, t + 3, lab) for h, t, lab in TRAIN_DATA[1][2]])]
    examples = make_examples(nlp, two_sentences)
    nlp.initialize(lambda: examples)
    seen = []
    suggester = pipe.suggester
    pipe.suggester = lambda docs: seen.extend(len(list(d.sents)) for d in docs) or suggester(docs)
    nlp.update(examples, annotates=["sentencizer"])
    assert seen == [2]
