"""STSN's token stack (spacy_jere.LabelAttentionStack.v1): shapes, attention within a
sentence, the tag loss, settings, and a pipeline with the stack (training, exposed tags,
serialization)."""
import numpy
import pytest
import spacy
import torch
from thinc.api import NumpyOps

from spacy_jere.layers.label_attention import LabelAttentionModule, SentenceLayout, label_attention_stack

from .conftest import make_examples, train

STACK = {"@architectures": "spacy_jere.LabelAttentionStack.v1", "n_layers": 1, "width": 64, "n_heads": 4,
         "label_width": 32}


def _module(**settings):
    torch.manual_seed(0)
    stack = label_attention_stack(**{"n_layers": 2, "width": 16, "n_heads": 4, "label_width": 6, **settings})
    return LabelAttentionModule(stack, token_width=12, n_tags=5).eval()


def test_shapes_and_widths():
    module = _module()
    tokens = torch.randn(7, 12)
    sentence_ids = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    entities, relations, logits, tags = module(tokens, sentence_ids)
    assert module.output_width == 16 + 6
    assert entities.shape == relations.shape == (7, 22) and logits.shape == (7, 5) and tags.shape == (7,)
    assert torch.equal(tags, logits.argmax(-1))
    plain = _module(label_embedding=False)
    entities, relations, _, _ = plain(tokens, sentence_ids)
    assert plain.output_width == 16 and entities.shape == (7, 16)
    # width null: the token width (the paper's d).
    assert LabelAttentionModule(label_attention_stack(n_heads=4), token_width=12, n_tags=5).output_width == 12 + 150


def test_attention_stays_within_a_sentence():
    module = _module()
    # Sentence 0 is shorter than sentence 1, so it is padded in the per-sentence layout.
    tokens = torch.randn(7, 12)
    sentence_ids = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    before = module(tokens, sentence_ids)
    changed = tokens.clone()
    changed[5] = torch.randn(12) * 3
    after = module(changed, sentence_ids)
    for a, b in zip(before[:3], after[:3], strict=True):
        assert torch.allclose(a[:3], b[:3], atol=1e-6)  # sentence 0 untouched
        assert not torch.allclose(a[3:], b[3:])  # sentence 1 sees its changed token
    # Changing token 0 changes the other tokens of its sentence (they attend to it).
    changed = tokens.clone()
    changed[0] = torch.randn(12) * 3
    after = module(changed, sentence_ids)
    assert not torch.allclose(before[0][1:3], after[0][1:3])
    # One sentence alone gives what it gives in the batch.
    alone = module(tokens[:3], sentence_ids[:3])
    assert torch.allclose(alone[0], before[0][:3], atol=1e-5)


def test_sentence_layout_pads_by_index():
    layout = SentenceLayout(torch.tensor([3, 3, 5, 5, 5, 9]))
    assert (layout.n_sentences, layout.longest) == (3, 3)
    assert layout.padding.tolist() == [[False, False, True], [False, False, False], [False, True, True]]
    tokens = torch.arange(6.0).unsqueeze(1)
    assert torch.equal(layout.unpad(layout.pad(tokens)), tokens)


def test_gold_tags_feed_the_label_embedding_in_training():
    module = _module()
    tokens, sentence_ids = torch.randn(4, 12), torch.zeros(4, dtype=torch.long)
    gold = torch.tensor([1, 2, 0, 3])
    entities, _, logits, tags = module(tokens, sentence_ids, gold)
    assert torch.equal(tags, gold)
    assert torch.equal(entities[:, 16:], module.tag_embedding(gold))


def test_predicted_and_soft_label_sources_ignore_the_gold_tags():
    tokens, sentence_ids = torch.randn(4, 12), torch.zeros(4, dtype=torch.long)
    gold = torch.tensor([1, 2, 0, 3])
    predicted = _module(label_source="predicted")
    entities, _, logits, tags = predicted(tokens, sentence_ids, gold)
    assert torch.equal(tags, logits.argmax(-1)) and not torch.equal(tags, gold)
    assert torch.equal(entities[:, 16:], predicted.tag_embedding(tags))
    soft = _module(label_source="soft")
    entities, _, logits, _ = soft(tokens, sentence_ids, gold)
    expected = torch.softmax(logits, -1) @ soft.tag_embedding.weight
    assert torch.allclose(entities[:, 16:], expected, atol=1e-6)
    # The soft embedding passes gradient back to the tag decoder through the classifiers' side.
    entities[:, 16:].sum().backward()
    assert soft.tag_decoder.weight.grad is not None and soft.tag_decoder.weight.grad.abs().sum() > 0
    # At inference (no gold tags) every source reads the argmax.
    _, _, logits, tags = soft(tokens, sentence_ids)
    assert torch.equal(tags, logits.argmax(-1))


def test_tag_loss_is_the_mean_cross_entropy_and_its_gradient():
    stack = label_attention_stack(tag_loss_weight=0.5)
    logits = torch.randn(6, 4, requires_grad=True)
    targets = torch.tensor([0, 3, 1, 1, 2, 0])
    expected = 0.5 * torch.nn.functional.cross_entropy(logits, targets)
    expected.backward()
    loss, grad = stack.loss(NumpyOps(), logits.detach().numpy(), targets.numpy())
    assert loss == pytest.approx(float(expected.detach()), rel=1e-5)
    assert numpy.allclose(grad, logits.grad.numpy(), atol=1e-6)


@pytest.mark.parametrize("settings, message", [
    ({"n_layers": 0}, "n_layers must be >= 1"),
    ({"width": 150}, "width must be a positive multiple of n_heads (8)"),
    ({"label_width": 0}, "label_width must be >= 1"),
    ({"dropout": 1.0}, "dropout must be in [0, 1)"),
    ({"tag_loss_weight": -1.0}, "tag_loss_weight must be >= 0"),
    ({"label_source": "oracle"}, "label_source must be one of gold, predicted, soft, got 'oracle'"),
    ({"learn_rate_scale": 0.0}, "learn_rate_scale must be > 0 or null, got 0.0"),
])
def test_bad_settings_name_the_stack(settings, message):
    with pytest.raises(ValueError, match="LabelAttentionStack") as err:
        label_attention_stack(**settings)
    assert message in str(err.value)


def test_a_token_width_that_does_not_split_into_heads_asks_for_a_width():
    with pytest.raises(ValueError, match="must be a multiple of n_heads"):
        LabelAttentionModule(label_attention_stack(n_heads=8), token_width=12, n_tags=5)


# -- a pipeline with the stack ---------------------------------------------------------
def _pipeline(**settings):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("span_relation", config={"model": {"token_stack": {**STACK, **settings}}})
    return nlp


def _net(nlp):
    return nlp.get_pipe("span_relation").model.get_ref("net").layers[0].shims[0]._model


def _annotations(docs):
    return [(tuple((s.start, s.end, s.label_) for s in doc.spans["entities"]),
             tuple((r.head.start, r.tail.start, r.label) for r in doc._.relations),
             tuple(doc._.jere_tags), tuple((s.start, s.end, s.label_) for s in doc.spans["entities_tagged"]))
            for doc in docs]


TEXTS = ["John Smith works for Acme Corp in Boston .", "Paris is in France . Mary Jones lives in Paris ."]


@pytest.fixture(scope="module")
def stacked():
    nlp = _pipeline()
    losses = train(nlp, make_examples(nlp), n_iter=40)
    return nlp, losses


def test_pipeline_with_the_stack_learns_the_training_docs(stacked):
    nlp, losses = stacked
    assert losses[-1] < 0.1 * losses[0]
    scores = nlp.evaluate(make_examples(nlp))
    assert scores["ent_f"] > 0.9
    assert scores["rel_strict_f"] > 0.8


def test_predicted_tags_are_exposed(stacked):
    nlp = stacked[0]
    doc = nlp(TEXTS[0])
    assert [token._.jere_tag for token in doc] == ["B-Peop", "I-Peop", "O", "O", "B-Org", "I-Org", "O", "B-Loc", "O"]
    assert doc._.jere_tags == [token._.jere_tag for token in doc]
    assert [(s.text, s.label_) for s in doc.spans["entities_tagged"]] == [
        ("John Smith", "Peop"), ("Acme Corp", "Org"), ("Boston", "Loc")]


def test_save_and_load_give_the_same_annotations(stacked, tmp_path):
    nlp = stacked[0]
    before = _annotations(nlp.pipe(TEXTS))
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    pipe = loaded.get_pipe("span_relation")
    assert pipe.tags == nlp.get_pipe("span_relation").tags and pipe.token_stack is not None
    assert _annotations(loaded.pipe(TEXTS)) == before
    assert any(ents for ents, *_ in before)
    from_bytes = spacy.blank("en").from_config(nlp.config).from_bytes(nlp.to_bytes())
    assert _annotations(from_bytes.pipe(TEXTS)) == before


def test_tag_loss_trains_the_tag_decoder():
    """The tag decoder is reached by the tag loss alone (the label embedding reads gold
    tags in training): it changes after an update, and not with tag_loss_weight 0. The
    loss has a "tags" term."""
    for weight in (1.0, 0.0):
        nlp = _pipeline(tag_loss_weight=weight, n_layers=1, width=16, label_width=8)
        spacy.util.fix_random_seed(0)
        examples = make_examples(nlp)
        optimizer = nlp.initialize(lambda: examples)  # noqa: B023 (called here)
        net = _net(nlp)
        decoder = net.token_stack.tag_decoder.weight.detach().clone()
        projection = net.token_stack.to_labels.weight.detach().clone()
        nlp.update(examples, sgd=optimizer)
        change = float((net.token_stack.tag_decoder.weight - decoder).abs().max())
        assert change > 1e-4 if weight > 0 else change < 1e-5
        assert not torch.equal(net.token_stack.to_labels.weight, projection)  # the spans' losses reach the stack


def test_without_label_embedding_the_pipeline_trains():
    nlp = _pipeline(label_embedding=False, width=16, label_width=8)
    losses = train(nlp, make_examples(nlp), n_iter=12)
    assert losses[-1] < 0.5 * losses[0]
    net = _net(nlp)
    assert net.token_stack.tag_embedding is None and net.token_stack.output_width == 16
    assert nlp(TEXTS[0])._.jere_tags is not None


def test_a_pipeline_without_the_stack_is_as_before():
    nlp = spacy.blank("en")
    nlp.add_pipe("span_relation")
    nlp.initialize(lambda: make_examples(nlp))
    pipe = nlp.get_pipe("span_relation")
    assert "tags" not in pipe.cfg and pipe.token_stack is None and pipe.tags == ()
    assert "token_stack" not in pipe.model.attrs and not pipe.model.get_ref("net").has_dim("n_tags")
    doc = nlp(TEXTS[0])
    assert doc._.jere_tags is None and {token._.jere_tag for token in doc} == {""}
    assert "entities_tagged" not in doc.spans


def test_the_stack_can_learn_at_its_own_rate():
    """learn_rate_scale on the stack: its parameters are updated at that multiple of the
    optimizer's rate, the rest of the net at the model's learn_rate_scale."""
    from spacy_jere.model import ScaledOptimizer

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    stack = {**STACK, "n_layers": 1, "width": 16, "label_width": 8, "learn_rate_scale": 2.0}
    nlp.add_pipe("span_relation", config={"model": {"token_stack": stack, "learn_rate_scale": 5.0}})
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    nlp.get_pipe("span_relation").update(examples)  # gradients, no optimizer step
    calls = {}

    class Recorder:
        def __call__(self, key, weights, gradient, *, lr_scale=1.0):
            calls[key[1]] = lr_scale
            return weights, gradient

        def __getattr__(self, name):
            return getattr(optimizer, name)

    nlp.get_pipe("span_relation").finish_update(Recorder())
    stack = {name: scale for name, scale in calls.items() if name.startswith("token_stack.")}
    rest = {name: scale for name, scale in calls.items() if name.startswith("head.")}
    assert stack and rest
    assert set(stack.values()) == {2.0}
    assert set(rest.values()) == {5.0}
    assert ScaledOptimizer(Recorder(), 50.0, {"a.": 3.0}).scale_for((1, "a.b")) == 3.0
    assert ScaledOptimizer(Recorder(), 50.0, {"a.": 3.0}).scale_for("key") == 50.0
