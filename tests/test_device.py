"""The code never assumes the CPU: every tensor it makes takes its device from its
inputs. With torch's default device set to "meta", any tensor made without an
explicit device lands on "meta" and the first op that mixes it with the model's real
(CPU) tensors fails; so these tests fail for the same code that would break on a GPU.
(No GPU here: a real device test runs where one is available, see test_gpu_if_available.)
"""
import pytest
import torch

from .conftest import head_config, make_examples, train

MODELS = {
    "baseline": {},
    "paper_001": {
        "span_encoder": {"@architectures": "spacy_jere.AttentionSpanEncoder.v1", "sentence_attention": "multihead"},
        "relation_encoder": {"@architectures": "spacy_jere.AttentionRelationEncoder.v1", "attention": "additive"},
    },
    "paper_004": {
        "head": {**head_config("spacy_jere.TwoPhaseHead.v1"),
                 "relation_classifier": {"@architectures": "spacy_jere.MLPClassifier.v1"}},
        "span_encoder": {"@architectures": "spacy_jere.MaxPoolSpanEncoder.v1", "fusion": "gated"},
        "relation_encoder": {
            "@architectures": "spacy_jere.SpERTRelationEncoder.v1", "global_features": True, "fusion": "gated"
        },
    },
}


@pytest.fixture
def default_device_meta():
    torch.set_default_device("meta")
    try:
        yield
    finally:
        torch.set_default_device(None)


def test_meta_default_device_catches_a_tensor_made_without_device(default_device_meta):
    """The trap works: a tensor made without device= does not mix with CPU tensors."""
    cpu = torch.ones(3, device="cpu")
    with pytest.raises((RuntimeError, NotImplementedError)):
        (cpu + torch.arange(3)).tolist()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_update_and_predict_make_no_tensor_without_a_device(nlp, name, default_device_meta):
    with torch.device("cpu"):  # the pipe's own modules are built on the CPU on purpose
        nlp.add_pipe("span_relation", config={"model": MODELS[name]})
        examples = make_examples(nlp)
        train(nlp, examples, n_iter=2)
    losses = {}
    nlp.update(examples, losses=losses)
    assert losses["span_relation"] > 0
    docs = list(nlp.pipe([eg.predicted.copy() for eg in examples]))
    assert len(docs) == len(examples)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU on this machine")
def test_gpu_if_available(nlp):
    import spacy

    spacy.require_gpu(0)
    try:
        nlp.add_pipe("span_relation")
        examples = make_examples(nlp)
        losses = train(nlp, examples, n_iter=5)
        assert losses[-1] < losses[0]
        assert len(list(nlp.pipe(["John Smith works for Acme Corp ."]))) == 1
    finally:
        spacy.require_cpu()
