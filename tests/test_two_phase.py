"""Ji et al. 2022's two-phase head: loss arithmetic, decoding, training."""
import numpy
import pytest
import torch
from thinc.api import NumpyOps

from spacy_jere.architectures import linear_classifier, spert_relation_encoder
from spacy_jere.heads import HeadDims, spert_head, two_phase_head
from spacy_jere.layers.net import PairInputs
from spacy_jere.layers.pooling import RangeMaxTable
from spacy_jere.layers.relation_encoders import tokens_between

from .conftest import TRAIN_DATA, head_config, make_examples, train

OPS = NumpyOps()


def make_head(two_phase=True, encoder=None, n_entity_classes=3, **settings):
    settings = {"relation_threshold": 0.5, **settings}
    head = (two_phase_head if two_phase else spert_head)(linear_classifier(), linear_classifier(), **settings)
    encoder = encoder or spert_relation_encoder()(token_width=4, span_width=4, n_entity_classes=n_entity_classes)
    dims = HeadDims(token_width=4, span_features=4, n_entity_classes=n_entity_classes, n_relation_labels=2)
    return head, head.build(dims, encoder)


def test_two_phase_loss_by_hand():
    # span 0: gold type 2 of 2; span 1: no entity
    span_logits = numpy.array([[0.0, 0.0, numpy.log(3.0)], [0.0, 5.0, -5.0]], "float32")
    span_targets = numpy.array([2, 0])
    rel_logits = numpy.array([[0.0, 0.0, 0.0]], "float32")  # one gold pair with both types
    rel_targets = numpy.array([[1.0, 1.0]], "float32")
    head, _ = make_head()
    result = head.loss(OPS, {"span_logits": span_logits, "relation_logits": rel_logits}, span_targets, rel_targets)
    loss, d_span, d_rel = result.total, result.gradients["span_logits"], result.gradients["relation_logits"]
    entity = (numpy.log(2) + numpy.log(2)) / 2 - numpy.log(0.75)  # binary BCE mean + type CE on the gold span
    relation = numpy.log(2) + numpy.log(2)  # BCE(0, 1) + CE with target (0.5, 0.5) on uniform probs
    assert loss == pytest.approx(entity + relation, rel=1e-5)
    assert result.terms["entity"] == pytest.approx(entity, rel=1e-5)
    assert d_span[:, 0].tolist() == pytest.approx([(0.5 - 1) / 2, 0.5 / 2])
    assert d_span[0, 1:].tolist() == pytest.approx([0.25, -0.25])
    assert d_span[1, 1:].tolist() == [0.0, 0.0]  # no typing loss for non-entities
    assert d_rel[0].tolist() == pytest.approx([-0.5, 0.0, 0.0])


def test_phase_two_loss_over_candidates():
    """Same logits as above: the type terms are divided by the 2 spans / 1 pair instead
    of the 1 gold span / 1 gold pair; phase one is unchanged."""
    span_logits = numpy.array([[0.0, 0.0, numpy.log(3.0)], [0.0, 5.0, -5.0]], "float32")
    rel_logits = numpy.array([[0.0, 0.0, 0.0]], "float32")
    outputs = {"span_logits": span_logits, "relation_logits": rel_logits}
    targets = numpy.array([2, 0]), numpy.array([[1.0, 1.0]], "float32")
    gold = make_head()[0].loss(OPS, outputs, *targets)
    candidates = make_head(phase_two_loss="candidates")[0].loss(OPS, outputs, *targets)
    phase_one = numpy.log(2)  # the entity BCE mean
    assert candidates.terms["entity"] == pytest.approx(phase_one + (gold.terms["entity"] - phase_one) / 2, rel=1e-5)
    assert candidates.terms["relation"] == pytest.approx(gold.terms["relation"], rel=1e-5)  # 1 pair, 1 gold
    d_gold, d_cand = gold.gradients["span_logits"], candidates.gradients["span_logits"]
    assert d_cand[:, 0].tolist() == pytest.approx(d_gold[:, 0].tolist())
    assert d_cand[0, 1:].tolist() == pytest.approx((d_gold[0, 1:] / 2).tolist())
    with pytest.raises(ValueError, match="phase_two_loss"):
        make_head(phase_two_loss="spans")


def test_two_phase_decoding():
    _, module = make_head()
    span_logits = torch.tensor([[2.0, 0.0, 1.0], [-2.0, 3.0, 0.0]])
    rel_logits = torch.tensor([[1.0, 0.0, 2.0], [-1.0, 5.0, 0.0]])
    decision = module.decide_entities(span_logits)
    assert decision.labels.tolist() == [2, 0]  # phase one decides, phase two types
    p = 1 / (1 + numpy.exp(-2.0))
    assert float(decision.scores[0]) == pytest.approx(p * numpy.exp(1) / (1 + numpy.exp(1)), rel=1e-5)
    rows, labels, _ = module.decode_relations(rel_logits)
    assert rows.tolist() == [0] and labels.tolist() == [1]


def test_spert_decoding_is_multi_label():
    _, module = make_head(two_phase=False, relation_threshold=0.4)
    rows, labels, scores = module.decode_relations(torch.tensor([[1.0, 2.0, -1.0]]))
    assert rows.tolist() == [0, 0] and labels.tolist() == [0, 1]
    assert scores.tolist() == pytest.approx(torch.sigmoid(torch.tensor([1.0, 2.0])).tolist())


def two_phase_config(global_features=True, fusion="gated"):
    return {"model": {
        "head": head_config("spacy_jere.TwoPhaseHead.v1"),
        "span_encoder": {"@architectures": "spacy_jere.MaxPoolSpanEncoder.v1", "fusion": fusion},
        "relation_encoder": {
            "@architectures": "spacy_jere.SpERTRelationEncoder.v1", "global_features": global_features, "fusion": fusion
        },
    }}


@pytest.mark.parametrize("global_features, fusion", [(True, "gated"), (False, "concat")])
def test_two_phase_trains_and_predicts(nlp, global_features, fusion):
    nlp.add_pipe("span_relation", config=two_phase_config(global_features, fusion))
    examples = make_examples(nlp)
    losses = train(nlp, examples, n_iter=40)
    assert losses[-1] < 0.5 * losses[0]
    scores = nlp.evaluate(examples)
    assert scores["ent_f"] > 0.8, scores["ent_f"]
    doc = nlp("Peter Brown killed Tom Green in Dallas .")
    for rel in doc._.relations:
        assert 0.0 < rel.score <= 1.0


def test_two_phase_entity_only_and_reload(nlp, tmp_path):
    import spacy

    nlp.add_pipe("span_relation", config=two_phase_config())
    data = [(w, e, []) for w, e, _ in TRAIN_DATA]
    train(nlp, make_examples(nlp, data), n_iter=20)
    doc = nlp("John Smith works for Acme Corp in Boston .")
    assert doc._.relations == ()
    nlp.to_disk(tmp_path / "m")
    again = spacy.load(tmp_path / "m")("John Smith works for Acme Corp in Boston .")
    entities = [(s.start, s.end, s.label_) for s in doc.spans["entities"]]
    assert [(s.start, s.end, s.label_) for s in again.spans["entities"]] == entities


def test_phase_two_gate_is_a_convex_mix_of_phase_one_and_typed_features():
    """Ji et al. 2022, 3.3.2: phase two's pair = eq. 5 gate over phase one's
    representation and the typed embedding C_r (projected to its width under concat fusion)."""
    torch.manual_seed(0)
    table = RangeMaxTable(torch.randn(8, 4), 8)
    spans, pairs = torch.tensor([[0, 1], [3, 5], [6, 8]]), torch.tensor([[0, 1], [1, 0], [0, 2]])
    for fusion, span_width in (("gated", 4), ("concat", 6)):
        enc = spert_relation_encoder(global_features=True, fusion=fusion)(token_width=4, span_width=span_width,
                                                                           n_entity_classes=3)
        _, head = make_head(encoder=enc, phase_two_features="gate")
        reps = torch.randn(3, span_width)
        inputs = PairInputs(table, reps, spans, pairs, None)
        types = torch.tensor([1, 2, 1])
        phase_one = inputs.encode(enc, torch.zeros_like(types))
        phase_two = head.phase_two_representation(enc, inputs, phase_one, types)
        assert phase_two.shape == phase_one.shape == (3, enc.output_width)
        typed = head.typed_projection(enc.global_features(pairs, tokens_between(spans, pairs), types))
        weight = (phase_two - typed) / (phase_one - typed)  # the gate's weight on phase one, per pair
        assert torch.allclose(weight, weight[:, :1].expand_as(weight), atol=1e-4)
        assert bool(((weight > 0) & (weight < 1)).all())
        other = head.phase_two_representation(enc, inputs, phase_one, torch.tensor([2, 2, 2]))
        assert not torch.allclose(other[0], phase_two[0])  # head type 1 -> 2 changes C_r


def test_phase_two_gate_needs_global_features(nlp, examples):
    head = head_config("spacy_jere.TwoPhaseHead.v1", phase_two_features="gate")
    nlp.add_pipe("span_relation", config={"model": {"head": head}})
    with pytest.raises(ValueError, match="global_features = true"):
        nlp.initialize(lambda: examples)
    with pytest.raises(ValueError, match="must be one of"):
        nlp.add_pipe("span_relation", name="other", config={"model": {"head": head_config(
            "spacy_jere.TwoPhaseHead.v1", phase_two_features="sum")}})


@pytest.mark.parametrize("fusion", ["gated", "concat"])
def test_two_phase_trains_with_the_phase_two_gate(nlp, fusion):
    config = two_phase_config(True, fusion)
    config["model"]["head"]["phase_two_features"] = "gate"
    nlp.add_pipe("span_relation", config=config)
    examples = make_examples(nlp)
    losses = train(nlp, examples, n_iter=40)
    assert losses[-1] < 0.5 * losses[0]
    assert nlp.evaluate(examples)["ent_f"] > 0.8
