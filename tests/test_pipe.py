import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example

from spacy_jere import Relation

from .conftest import TRAIN_DATA, make_doc, make_examples, train


@pytest.fixture(scope="module")
def trained():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("span_relation")
    train(nlp, make_examples(nlp), n_iter=40)
    return nlp


def gold_items(doc):
    ents = sorted((s.start, s.end, s.label_) for s in doc.spans["entities"])
    rels = sorted((r.head.start, r.tail.start, r.label) for r in doc._.relations)
    return ents, rels


def test_learns_training_docs(trained):
    scores = trained.evaluate(make_examples(trained))
    assert scores["ent_f"] > 0.9
    assert scores["rel_strict_f"] > 0.8


def test_loss_decreases(nlp, examples):
    nlp.add_pipe("span_relation")
    losses = train(nlp, examples, n_iter=15)
    assert losses[-1] < 0.5 * losses[0]


def test_scores_attached_to_entities(trained):
    doc = trained("John Smith works for Acme Corp in Boston .")
    group = doc.spans["entities"]
    assert len(group.attrs["scores"]) == len(group) > 0
    assert all(0.0 < s <= 1.0 for s in group.attrs["scores"])
    for rel in doc._.relations:
        assert rel.score > 0.4
        assert any(rel.head == s for s in group) and any(rel.tail == s for s in group)


@pytest.mark.parametrize("text", ["", "   ", "Boston", "Paris ."])
def test_degenerate_docs(trained, text):
    doc = trained(text)
    assert doc._.relations == () or len(doc._.relations) == 0
    assert len(doc.spans["entities"]) <= len(doc)


def test_batch_mixing_empty_and_real_docs(trained):
    docs = list(trained.pipe(["", "John Smith works for Acme Corp in Boston .", "  ", "x"], batch_size=4))
    assert len(docs[1].spans["entities"]) > 0
    assert len(docs[0].spans["entities"]) == 0


def test_paragraph_spans_and_relations_stay_in_sentences(trained):
    text = "John Smith works for Acme Corp in Boston . Mary Jones lives in Paris . Paris is in France ."
    doc = trained(text)
    assert len(list(doc.sents)) == 3
    sent_of = {tok.i: sent.start for sent in doc.sents for tok in sent}
    for span in doc.spans["entities"]:
        assert sent_of[span.start] == sent_of[span.end - 1]
    assert doc._.relations
    for rel in doc._.relations:
        assert sent_of[rel.head.start] == sent_of[rel.tail.start]


def test_max_pairs_caps_and_counts(trained):
    pipe = trained.get_pipe("span_relation")
    pipe.head.max_pairs = 1
    try:
        with pytest.warns(UserWarning, match="max_pairs=1"):
            doc = trained("Peter Brown killed Tom Green in Dallas .")
        assert len({(r.head.start, r.tail.start) for r in doc._.relations}) <= 1
        assert pipe.n_dropped_pairs > 0
    finally:
        pipe.head.max_pairs = 1000


def test_save_load_and_docbin(trained, tmp_path):
    texts = ["John Smith works for Acme Corp in Boston .", "Anna Lee moved to Berlin in Germany ."]
    docs = list(trained.pipe(texts))
    trained.to_disk(tmp_path / "model")
    reloaded = spacy.load(tmp_path / "model")
    for doc, again in zip(docs, reloaded.pipe(texts), strict=True):
        assert gold_items(doc) == gold_items(again)
        assert [r.score for r in doc._.relations] == pytest.approx([r.score for r in again._.relations], abs=1e-5)
    doc_bin = DocBin(store_user_data=True, docs=docs)
    loaded = list(DocBin().from_bytes(doc_bin.to_bytes()).get_docs(reloaded.vocab))
    assert [gold_items(d) for d in loaded] == [gold_items(d) for d in docs]


def test_to_bytes_round_trip(trained):
    texts = ["John Smith works for Acme Corp in Boston .", "Anna Lee moved to Berlin in Germany ."]
    docs = list(trained.pipe(texts))
    again = spacy.blank("en")
    again.add_pipe("sentencizer")
    pipe = again.add_pipe("span_relation")
    again.from_bytes(trained.to_bytes())
    assert pipe.entity_labels == trained.get_pipe("span_relation").entity_labels
    reloaded = list(again.pipe(texts))
    assert [gold_items(d) for d in reloaded] == [gold_items(d) for d in docs]
    scores = [r.score for d in docs for r in d._.relations]
    assert [r.score for d in reloaded for r in d._.relations] == pytest.approx(scores, abs=1e-6)
    assert pipe.to_bytes() == again.get_pipe("span_relation").to_bytes()


def test_decoding_settings_can_change_at_load_time(trained, tmp_path):
    trained.to_disk(tmp_path / "model")
    assert spacy.load(tmp_path / "model").get_pipe("span_relation").head.entity_overlap == "allow"
    head = {"entity_overlap": "flat", "relation_threshold": 0.9}
    flat = spacy.load(tmp_path / "model", config={"components": {"span_relation": {"model": {"head": head}}}})
    pipe = flat.get_pipe("span_relation")
    assert pipe.head.entity_overlap == "flat" and pipe.head.relation_threshold == 0.9
    for doc in flat.pipe([words for words, _, _ in TRAIN_DATA]):
        spans = sorted((s.start, s.end) for s in doc.spans["entities"])
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # no overlaps
        assert all(r.score > 0.9 for r in doc._.relations)


def test_multiprocessing_keeps_relations(trained):
    texts = [words for words, _, _ in TRAIN_DATA]
    single = [gold_items(d) for d in trained.pipe(texts)]
    multi = [gold_items(d) for d in trained.pipe(texts, n_process=2, batch_size=2)]
    assert multi == single
    assert any(rels for _, rels in multi)


def test_entity_only_corpus(nlp):
    nlp.add_pipe("span_relation")
    data = [(w, e, []) for w, e, _ in TRAIN_DATA]
    train(nlp, make_examples(nlp, data), n_iter=30)
    pipe = nlp.get_pipe("span_relation")
    assert pipe.relation_labels == ()
    doc = nlp("John Smith works for Acme Corp in Boston .")
    assert len(doc.spans["entities"]) > 0 and doc._.relations == ()
    assert nlp.evaluate(make_examples(nlp, data))["ent_f"] > 0.9


def test_relation_argument_not_a_gold_entity_fails_at_initialize(nlp):
    nlp.add_pipe("span_relation")
    examples = make_examples(nlp)
    gold = examples[1].reference
    outside = Span(gold, 2, 3, label="Peop")  # "lives": not in doc.spans
    gold._.relations = [Relation(outside, gold.spans["entities"][1], "Live_In")]
    message = r"training example 1: relation 0 \(Live_In\) has head 'lives' \[2:3\] 'Peop', which is not an entity"
    with pytest.raises(ValueError, match=message):
        nlp.initialize(lambda: examples)


def test_no_entities_fails_at_initialize(nlp):
    nlp.add_pipe("span_relation", config={"spans_key": "ents"})
    data = [(w, e, []) for w, e, _ in TRAIN_DATA]
    with pytest.raises(ValueError, match=r"found no entities in doc.spans\['ents'\]"):
        nlp.initialize(lambda: make_examples(nlp, data))


@pytest.mark.parametrize(
    "config, message",
    [
        ({"model": {"head": {"relation_threshold": 1.5}}}, "relation_threshold must be in \\[0, 1\\], got 1.5"),
        ({"model": {"head": {"relation_threshold": -0.1}}}, "relation_threshold must be in \\[0, 1\\], got -0.1"),
        ({"suggester": {"max_width": 0}}, "max_width must be a positive number of tokens, got 0"),
        ({"suggester": {"max_width": -3}}, "max_width must be a positive number of tokens, got -3"),
        ({"neg_entity_count": -1}, "neg_entity_count must be >= 0"),
        ({"model": {"head": {"entity_overlap": "nested"}}}, "entity_overlap must be one of allow, flat, got 'nested'"),
        ({"model": {"head": {"max_pairs": -1}}}, "max_pairs must be >= 0"),
        ({"model": {"head": {"relation_label_loss": "max"}}},
         "relation_label_loss must be one of sum, mean, got 'max'"),
        ({"model": {"learn_rate_scale": 0}}, "learn_rate_scale must be > 0"),
        ({"model": {"span_encoder": {"width_embedding_size": 0}}}, "width_embedding_size must be >= 1"),
        ({"model": {"head": {"span_classifier": {"dropout": 1.0}}}}, "dropout must be in \\[0, 1\\)"),
    ],
)
def test_config_validation(nlp, config, message):
    with pytest.raises(ValueError, match=message):
        nlp.add_pipe("span_relation", config=config)


def test_unknown_label_in_dev_is_scored_as_error(trained):
    data = [("Acme Corp in Boston .", [(0, 2, "Org"), (3, 4, "Event")], [(0, 1, "Happened_In")])]
    examples = make_examples(trained, data)
    scores = trained.evaluate(examples)
    assert scores["ent_per_type"]["Event"]["r"] == 0.0
    assert scores["rel_per_type"]["Happened_In"]["r"] == 0.0


def test_predict_before_initialize_is_a_clear_error(nlp):
    nlp.add_pipe("span_relation")
    with pytest.raises(ValueError, match="initialize"):
        nlp("John Smith works for Acme .")


def test_negative_sampling_is_reproducible(nlp):
    nlp.add_pipe("span_relation")
    a = train(nlp, make_examples(nlp), n_iter=3, seed=1)
    other = spacy.blank("en")
    other.add_pipe("span_relation")
    b = train(other, make_examples(other), n_iter=3, seed=1)
    assert a == pytest.approx(b, rel=1e-5)


def test_gold_spans_are_aligned_to_a_different_tokenization(nlp):
    from spacy_jere.targets import LabelMaps, TargetStats, doc_targets

    gold = make_doc(nlp.vocab, ["New York", "hosts", "Acme", "Inc.", "."],
                    [(0, 1, "Loc"), (2, 4, "Org"), (3, 4, "Org")], [(1, 0, "OrgBased_In")])
    predicted = nlp.make_doc(gold.text)  # "New York" becomes two tokens; "Inc." stays one
    assert len(predicted) == 6
    stats = TargetStats()
    targets = doc_targets(Example(predicted, gold), "entities", LabelMaps(["Loc", "Org"], ["OrgBased_In"]), "x", stats)
    assert targets.spans.tolist() == [[0, 2], [3, 5], [4, 5]]
    assert targets.span_labels.tolist() == [1, 2, 2]
    assert targets.pairs.tolist() == [[1, 0]] and targets.pair_labels.tolist() == [[1.0]]
    assert not stats.any()


def test_gold_left_out_of_training_is_counted_and_warned(nlp):
    from spacy_jere.targets import LabelMaps, TargetStats, doc_targets

    predicted = nlp.make_doc("Acme Corp in NewYork")  # "NewYork" is one predicted token
    gold = Doc(nlp.vocab, words=["Acme", "Corp", "in", "New", "York"], spaces=[True, True, True, False, False])
    spans = [Span(gold, 0, 2, "Org"), Span(gold, 0, 2, "Peop"), Span(gold, 3, 4, "Loc")]
    gold.spans["entities"] = spans
    gold._.relations = [Relation(spans[0], spans[2], "OrgBased_In")]
    assert predicted.text == gold.text
    stats = TargetStats()
    labels = LabelMaps(["Loc", "Org", "Peop"], ["OrgBased_In"])
    targets = doc_targets(Example(predicted, gold), "entities", labels, "x", stats)
    assert targets.spans.tolist() == [[0, 2]]  # "New" ends inside the token "NewYork"
    assert (stats.unaligned_entities, stats.conflicting_types, stats.relations_left_out) == (1, 1, 1)
    pipe = nlp.add_pipe("span_relation")
    nlp.initialize(lambda: make_examples(nlp))
    with pytest.warns(UserWarning, match="could not be used in training"):
        nlp.update([Example(predicted, gold)])
    assert pipe.target_stats.unaligned_entities == 1


def test_corpus_without_relations_trains_entities_and_says_so(nlp):
    data = [(words, ents, []) for words, ents, _ in TRAIN_DATA]
    nlp.add_pipe("sentencizer")
    pipe = nlp.add_pipe("span_relation")
    with pytest.warns(UserWarning, match="only entities will be learned"):
        losses = train(nlp, make_examples(nlp, data), n_iter=15)
    assert pipe.relation_labels == ()
    assert losses[-1] < 0.5 * losses[0]
    doc = nlp("John Smith works for Acme Corp in Boston .")
    assert doc._.relations == ()
