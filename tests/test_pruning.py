"""Span pruning (PERA): the per-sentence selection, the scorer's training, decoding with
pruned spans, serialization and the settings' checks."""
import numpy
import pytest
import spacy
import torch

from spacy_jere.candidates import inference_candidates
from spacy_jere.layers.pruning import keep_top, span_pruner

from .conftest import make_examples, train

PRUNER = {"@architectures": "spacy_jere.SpanPruner.v1", "retention": 0.05, "min_keep": 3}


def test_keep_top_per_sentence_with_quota_floor_and_forced_rows():
    # Sentence 0: 6 candidates, sentence 1: 4 (rows interleaved on purpose).
    sentence_ids = torch.tensor([0, 1, 0, 0, 1, 0, 1, 0, 1, 0])
    scores = torch.tensor([0.1, 5.0, 0.9, 0.3, -1.0, 0.8, 4.0, -2.0, 0.0, 0.2])
    # ceil(0.5 * 6) = 3 of sentence 0, ceil(0.5 * 4) = 2 of sentence 1.
    kept = keep_top(scores, sentence_ids, retention=0.5, min_keep=1)
    assert kept.tolist() == [1, 2, 3, 5, 6]
    # The floor: one sentence's quota is raised to min_keep.
    kept = keep_top(scores, sentence_ids, retention=0.1, min_keep=2)
    assert kept.tolist() == [1, 2, 5, 6]
    # Forced rows (gold spans in training) are kept whatever their score, and rank first.
    forced = torch.zeros(10, dtype=torch.bool)
    forced[7] = True
    kept = keep_top(scores, sentence_ids, retention=0.1, min_keep=2, forced=forced)
    assert kept.tolist() == [1, 2, 6, 7]
    assert keep_top(scores, sentence_ids, retention=1.0, min_keep=1).tolist() == list(range(10))
    assert keep_top(torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5, 1).tolist() == []


@pytest.mark.parametrize("settings, message", [
    ({"retention": 0.0}, "retention must be in (0, 1]"),
    ({"min_keep": 0}, "min_keep must be >= 1"),
    ({"scorer_loss": "classifier"}, "scorer_loss must be one of entity, none"),
    ({"loss_weight": -1.0}, "loss_weight must be >= 0"),
])
def test_bad_settings_name_the_pruner(settings, message):
    with pytest.raises(ValueError, match="SpanPruner") as err:
        span_pruner(**settings)
    assert message in str(err.value)


def _pipeline(**pruner):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("span_relation", config={"model": {"span_pruner": {**PRUNER, **pruner}}})
    return nlp


def _kept_gold_recall(nlp):
    """Share of the gold spans among the spans the pruner keeps, at inference."""
    pipe = nlp.get_pipe("span_relation")
    found = total = 0
    for eg in make_examples(nlp):
        doc = nlp.get_pipe("sentencizer")(eg.predicted)
        candidates = inference_candidates([doc], pipe.suggester([doc]))
        output = pipe.model.predict(([doc], candidates))
        kept = {tuple(row) for row in candidates.spans[output["kept_spans"]].tolist()}
        gold = {(s.start, s.end) for s in eg.reference.spans["entities"]}
        found += len(gold & kept)
        total += len(gold)
    return found / total


@pytest.fixture(scope="module")
def pruned():
    nlp = _pipeline()
    spacy.util.fix_random_seed(0)
    nlp.initialize(lambda: make_examples(nlp))
    before = _kept_gold_recall(nlp)
    losses = train(nlp, make_examples(nlp), n_iter=40)
    return nlp, before, losses


def test_scorer_learns_to_keep_the_gold_spans(pruned):
    nlp, before, losses = pruned
    after = _kept_gold_recall(nlp)
    assert after == 1.0 and after > before
    assert losses[-1] < 0.3 * losses[0]


def test_pruned_pipeline_learns_entities_and_relations(pruned):
    nlp = pruned[0]
    scores = nlp.evaluate(make_examples(nlp))
    assert scores["ent_f"] > 0.9
    assert scores["rel_strict_f"] > 0.8


def test_only_kept_spans_are_classified_and_retention_changes_on_a_trained_pipe(pruned):
    nlp = pruned[0]
    pipe = nlp.get_pipe("span_relation")
    doc = nlp.get_pipe("sentencizer")(nlp.make_doc("John Smith works for Acme Corp in Boston ."))
    candidates = inference_candidates([doc], pipe.suggester([doc]))
    n = len(candidates.spans)
    output = pipe.model.predict(([doc], candidates))
    assert len(output["kept_spans"]) == max(3, int(numpy.ceil(0.05 * n))) < n
    assert output["span_logits"].shape[0] == len(output["kept_spans"])
    pruned_rows = numpy.setdiff1d(numpy.arange(n), output["kept_spans"])
    assert (output["entity_labels"][pruned_rows] == 0).all()
    pipe.model.attrs["pruner"].retention = 1.0
    try:
        assert len(pipe.model.predict(([doc], candidates))["kept_spans"]) == n
    finally:
        pipe.model.attrs["pruner"].retention = 0.05


def test_save_and_load_keep_the_pruner(pruned, tmp_path):
    nlp = pruned[0]
    texts = ["John Smith works for Acme Corp in Boston .", "Paris is in France ."]
    before = [(tuple((s.start, s.end, s.label_) for s in d.spans["entities"]),
               tuple((r.head.start, r.tail.start, r.label) for r in d._.relations)) for d in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert loaded.get_pipe("span_relation").model.attrs["pruner"].retention == 0.05
    after = [(tuple((s.start, s.end, s.label_) for s in d.spans["entities"]),
              tuple((r.head.start, r.tail.start, r.label) for r in d._.relations)) for d in loaded.pipe(texts)]
    assert after == before and any(ents for ents, _ in before)


def test_untrained_scorer_option_gets_no_gradient():
    nlp = _pipeline(scorer_loss="none")
    spacy.util.fix_random_seed(0)
    nlp.initialize(lambda: make_examples(nlp))
    net = nlp.get_pipe("span_relation").model.get_ref("net").layers[0].shims[0]._model
    weights = net.pruner.scorer.weight.detach().clone()
    train(nlp, make_examples(nlp), n_iter=3)
    assert torch.equal(net.pruner.scorer.weight, weights)


def test_pruning_benchmark_on_a_small_pipeline(pruned, tmp_path):
    """bench/pruning's measurement: at retention 1.0 every gold span is a kept candidate;
    fewer candidates are kept at lower retention; the table names its command."""
    import json

    from spacy.tokens import Doc, DocBin

    from spacy_jere.experiments.pruning import measure

    nlp = pruned[0]
    nlp.to_disk(tmp_path / "model")
    gold = []
    for eg in make_examples(nlp):
        doc = eg.reference
        sentenced = Doc(doc.vocab, words=[t.text for t in doc], sent_starts=[i == 0 for i in range(len(doc))])
        sentenced.spans["entities"] = [sentenced.char_span(s.start_char, s.end_char, s.label_)
                                       for s in doc.spans["entities"]]
        gold.append(sentenced)
    DocBin(docs=gold, store_user_data=True).to_disk(tmp_path / "dev.spacy")
    out = tmp_path / "bench" / "toy.json"
    measure(str(tmp_path / "model"), tmp_path / "dev.spacy", "toy", [0.05, 1.0], 20, 4, out, "cmd pruning")
    results = json.loads(out.read_text())
    rows = results["retentions"]
    assert rows["1.0"]["gold_recall"] == 100.0 and rows["1.0"]["kept"] == rows["1.0"]["candidates"]
    assert rows["0.05"]["kept"] < rows["1.0"]["kept"]
    assert results["long_document"]["words"] >= 20
    assert "cmd pruning" in out.with_suffix(".md").read_text()
