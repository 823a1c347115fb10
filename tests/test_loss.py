"""The pipe's loss: SpERT's entity CE + relation BCE, each weighted; and the MLP
classifier (ASpERT) trains."""
import numpy
import pytest
from thinc.api import NumpyOps

from spacy_jere.architectures import linear_classifier
from spacy_jere.heads import spert_head

from .conftest import make_examples, train


def loss_of(head, span_logits, span_targets, rel_logits, rel_targets):
    outputs = {"span_logits": numpy.array(span_logits, "float32"),
               "relation_logits": numpy.array(rel_logits, "float32")}
    result = head.loss(NumpyOps(), outputs, numpy.array(span_targets), numpy.array(rel_targets, dtype="float32"))
    assert result.total == pytest.approx(sum(result.terms.values()))
    return result.total, (result.gradients["span_logits"], result.gradients["relation_logits"])


def make_head(**settings):
    return spert_head(linear_classifier(), linear_classifier(), **settings)


@pytest.mark.parametrize("w_ent, w_rel", [(1.0, 1.0), (0.4, 0.6), (0.0, 1.0)])
def test_loss_by_hand(w_ent, w_rel):
    pipe = make_head(entity_loss_weight=w_ent, relation_loss_weight=w_rel)
    span_logits = [[0.0, numpy.log(3.0)], [0.0, 0.0]]  # p(target) = 0.75 and 0.5
    rel_logits = [[0.0, 2.0]]
    loss, (d_span, d_rel) = loss_of(pipe, span_logits, [1, 0], rel_logits, [[1.0, 0.0]])
    entity = -(numpy.log(0.75) + numpy.log(0.5)) / 2
    relation = numpy.log(2.0) + numpy.log1p(numpy.exp(2.0))  # BCE summed over labels, one pair
    assert loss == pytest.approx(w_ent * entity + w_rel * relation, rel=1e-5)
    assert d_span[0].tolist() == pytest.approx([w_ent * 0.25 / 2, -w_ent * 0.25 / 2])
    sigmoid2 = 1 / (1 + numpy.exp(-2.0))
    assert d_rel[0].tolist() == pytest.approx([w_rel * (0.5 - 1.0), w_rel * sigmoid2])


def test_relation_label_loss_mean_is_spert_average_over_labels():
    span_logits, rel_logits, rel_targets = [[0.0, 1.0]], [[0.0, 2.0], [1.0, -1.0]], [[1.0, 0.0], [0.0, 0.0]]
    summed, averaged = make_head(), make_head(relation_label_loss="mean")
    loss_sum, (_, d_rel_sum) = loss_of(summed, span_logits, [1], rel_logits, rel_targets)
    loss_mean, (d_span, d_rel_mean) = loss_of(averaged, span_logits, [1], rel_logits, rel_targets)
    entity = numpy.log1p(numpy.exp(-1.0))
    assert loss_mean - entity == pytest.approx((loss_sum - entity) / 2, rel=1e-5)
    numpy.testing.assert_allclose(d_rel_mean, d_rel_sum / 2, rtol=1e-6)


def test_head_settings_are_validated_when_the_pipeline_is_built(nlp):
    with pytest.raises(ValueError, match="relation_label_loss"):
        nlp.add_pipe("span_relation", config={"model": {"head": {"relation_label_loss": "median"}}})


def test_mlp_classifiers_train(nlp):
    mlp = {"@architectures": "spacy_jere.MLPClassifier.v1", "hidden_width": 64}
    nlp.add_pipe("span_relation", config={"model": {"head": {"span_classifier": mlp, "relation_classifier": mlp}}})
    losses = train(nlp, make_examples(nlp), n_iter=15)
    assert losses[-1] < 0.5 * losses[0]


def test_dynamic_negative_sampling_trains(nlp):
    nlp.add_pipe("span_relation", config={"neg_per_gold": 30})
    losses = train(nlp, make_examples(nlp), n_iter=15)
    assert losses[-1] < 0.5 * losses[0]


def test_heads_yes_no_decisions_match_their_decoding_thresholds():
    """Head.detected (diagnostics): SpERT's entity = a type beats "none", relation = a
    label over the threshold; two-phase: the binary logits."""
    import numpy

    from spacy_jere.heads import spert_head, two_phase_head

    spert = spert_head(span_classifier=None, relation_classifier=None, relation_threshold=0.4)
    entity, relation = spert.detected(numpy.array([[1.0, 0.0], [0.0, 2.0]]),
                                      numpy.array([[-1.0, -0.3], [-1.0, -0.5]]))
    assert entity.tolist() == [False, True] and relation.tolist() == [True, False]  # logit(0.4) = -0.405
    phases = two_phase_head(span_classifier=None, relation_classifier=None, relation_threshold=0.4)
    entity, relation = phases.detected(numpy.array([[1.0, -5.0], [-1.0, 5.0]]),
                                       numpy.array([[-0.3, -9.0], [-1.0, 9.0]]))
    assert entity.tolist() == [True, False] and relation.tolist() == [True, False]
