import numpy
import pytest
from spacy.util import registry
from thinc.api import Adam, Config

import spacy_jere  # noqa: F401  (registrations)
from spacy_jere.optimizers import spert_adamw


def _steps(optimizer, name, gradients, start=1.0):
    weights = numpy.full(3, start, dtype="float32")
    for gradient in gradients:
        weights, _ = optimizer((7, name), weights, numpy.asarray(gradient, dtype="float32").copy())
    return weights


def test_with_bias_correction_it_is_thincs_adam():
    gradients = [[0.1, -0.2, 0.05], [0.3, 0.1, -0.1], [-0.2, 0.2, 0.0]]
    ours = spert_adamw(1e-3, bias_correction=True, eps=1e-8, no_decay=())
    thincs = Adam(1e-3, L2=0.01, L2_is_weight_decay=True, grad_clip=1.0, eps=1e-8)
    numpy.testing.assert_allclose(_steps(ours, "w", gradients), _steps(thincs, "w", gradients), rtol=1e-6)


def test_without_bias_correction_the_first_step_is_larger():
    # Uncorrected moments after one step: m = 0.1 g, v = 0.001 g^2, so the step is
    # lr * 0.1 / sqrt(0.001) = 3.16 lr in the gradient's sign (decay off).
    optimizer = spert_adamw(1e-3, bias_correction=False, weight_decay=0.0, eps=1e-12)
    weights = _steps(optimizer, "w", [[0.5, -0.5, 0.25]])
    numpy.testing.assert_allclose(weights, 1.0 - 1e-3 * 0.1 / 0.001**0.5 * numpy.array([1, -1, 1]), rtol=1e-5)
    corrected = _steps(spert_adamw(1e-3, bias_correction=True, weight_decay=0.0, eps=1e-12), "w", [[0.5, -0.5, 0.25]])
    numpy.testing.assert_allclose(corrected, 1.0 - 1e-3 * numpy.array([1, -1, 1]), rtol=1e-5)


def test_biases_and_layer_norms_are_not_decayed():
    optimizer = spert_adamw(0.1, weight_decay=0.5)
    zero = [[0.0, 0.0, 0.0]]
    numpy.testing.assert_allclose(_steps(optimizer, "classifier.bias", zero), 1.0)
    numpy.testing.assert_allclose(_steps(optimizer, "encoder.LayerNorm.weight", zero), 1.0)
    numpy.testing.assert_allclose(_steps(optimizer, "classifier.weight", zero), 1.0 - 0.1 * 0.5, rtol=1e-6)
    assert optimizer.L2 == 0.5  # restored after an exempt parameter


def test_resolves_from_a_config():
    config = Config().from_str(
        """
        [optimizer]
        @optimizers = "spacy_jere.AdamW.v1"
        weight_decay = 0.01
        bias_correction = false

        [optimizer.learn_rate]
        @schedules = "warmup_linear.v1"
        warmup_steps = 2
        total_steps = 10
        initial_rate = 0.00005
        """
    )
    optimizer = registry.resolve(config)["optimizer"]
    assert optimizer.bias_correction is False
    optimizer.step_schedules()
    assert optimizer.learn_rate > 0


@pytest.mark.parametrize("setting", [{"beta1": 1.0}, {"weight_decay": -0.1}, {"eps": 0.0}])
def test_bad_settings_are_named(setting):
    with pytest.raises(ValueError, match="spacy_jere.AdamW.v1"):
        spert_adamw(1e-3, **setting)
