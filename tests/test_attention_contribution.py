"""ASpERT's attentional contribution degree (paper 002, Algorithms 1-2): the arithmetic on
hand-built attention tensors, the wordpiece -> token alignment (a word of several pieces,
a sentence over two windows), gradients, errors, and a tiny transformer pipeline that
trains, saves and loads."""
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from thinc.api import NumpyOps, Ragged

from spacy_jere import transformer_attentions
from spacy_jere.layers.attention_contribution import attention_contribution, contribution_degree
from spacy_jere.transformer_attentions import (
    AttentionSetupError,
    plan_sentence,
    sentence_attentions,
    token_attentions,
    token_attentions_backward,
)

from . import test_end_to_end as end_to_end
from .conftest import TRAIN_DATA, make_examples
from .test_end_to_end import check_fresh_process
from .test_end_to_end import predictions as end_to_end_predictions

# -- the contribution degree ---------------------------------------------------------


def brute_force(attn, start, end, n, theta):
    """Algorithm 1 and 2 as written, for one sentence (F, N, N) and one span."""
    values = []
    for f in range(attn.shape[0]):
        total, count = 0.0, 0
        for i in range(start, end):  # the span's tokens attend
            for j in range(n):
                if start <= j < end:  # Algorithm 1: the span's own words are masked
                    continue
                a = float(attn[f, i, j])
                total += a if a > theta else 0.0  # Algorithm 2: below theta counts 0
                count += 1
        values.append(total / count if count else 0.0)
    return values


def test_contribution_degree_equals_a_hand_computation():
    # One sentence of 4 tokens, 2 (layer, head) features.
    a = torch.tensor([
        [[0.1, 0.2, 0.3, 0.4],
         [0.6, 0.1, 0.2, 0.1],   # token 1: 0.6 to token 0 passes theta, 0.1 to token 3 does not
         [0.1, 0.1, 0.1, 0.7],   # token 2: 0.7 to token 3 passes
         [0.2, 0.2, 0.2, 0.4]],
        [[0.0, 0.0, 0.0, 1.0],
         [0.3, 0.3, 0.3, 0.1],
         [0.2, 0.6, 0.2, 0.0],   # 0.6 goes to token 1, inside the span: masked
         [0.0, 0.0, 0.0, 1.0]],
    ]).unsqueeze(0)
    spans = torch.tensor([[1, 3], [0, 1], [0, 4]])
    sentences = torch.tensor([[0, 4]] * 3)
    degree = contribution_degree(a, torch.zeros(3, dtype=torch.long), spans, sentences, theta=0.5)
    # span (1, 3): rows 1, 2 x context columns 0, 3 -> feature 0: (0.6 + 0 + 0 + 0.7) / 4
    assert degree[0].tolist() == pytest.approx([1.3 / 4, 0.0])
    # span (0, 1): row 0 x columns 1, 2, 3 -> feature 1: 1.0 / 3 (token 0 puts all on token 3)
    assert degree[1].tolist() == pytest.approx([0.0, 1.0 / 3])
    # the whole sentence: no context, 0
    assert degree[2].tolist() == [0.0, 0.0]


def test_contribution_degree_matches_the_algorithms_on_padded_sentences():
    rng = numpy.random.default_rng(0)
    lengths = [5, 3, 7]
    padded = numpy.zeros((3, 4, 7, 7), dtype="float32")
    for r, n in enumerate(lengths):
        raw = rng.random((4, n, n)) ** 4
        padded[r, :, :n, :n] = raw / raw.sum(-1, keepdims=True)
    offsets = [0, 5, 8]  # flat token offsets of the three sentences
    spans, sentences, rows = [], [], []
    for r, n in enumerate(lengths):
        for s in range(n):
            for e in range(s + 1, n + 1):
                spans.append((offsets[r] + s, offsets[r] + e))
                sentences.append((offsets[r], offsets[r] + n))
                rows.append(r)
    for theta in (0.0, 0.3, 0.5):
        got = contribution_degree(torch.tensor(padded), torch.tensor(rows), torch.tensor(spans),
                                  torch.tensor(sentences), theta)
        for k, ((s, e), (s0, _), r) in enumerate(zip(spans, sentences, rows, strict=True)):
            expected = brute_force(padded[r], s - s0, e - s0, lengths[r], theta)
            assert got[k].tolist() == pytest.approx(expected, abs=1e-5), (theta, s, e)


def test_gradient_only_through_the_values_above_theta():
    a = torch.tensor([[[0.1, 0.2, 0.7], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]]]).unsqueeze(0).requires_grad_(True)
    degree = contribution_degree(a, torch.tensor([0]), torch.tensor([[1, 2]]), torch.tensor([[0, 3]]), 0.5)
    degree.sum().backward()
    expected = torch.zeros((3, 3))
    expected[1, 0] = 1 / 2  # span row 1, context column 0, above theta: d mean / d a = 1 / (1 x 2)
    assert torch.allclose(a.grad[0, 0], expected)


@pytest.mark.parametrize("settings, message", [
    ({"theta": 1.0}, "theta must be in [0, 1)"),
    ({"n_layers": 0}, "n_layers must be >= 1"),
    ({"layers": [0, 6]}, "layers must be distinct indices in 0..5"),
    ({"layers": []}, "non-empty list"),
    ({"grad": "yes"}, "grad must be true or false"),
])
def test_bad_settings_name_the_part(settings, message):
    with pytest.raises(ValueError, match="AttentionContribution") as err:
        attention_contribution(**settings)
    assert message in str(err.value)


def test_width_is_the_selected_layers_times_heads():
    assert attention_contribution().width == 72  # MiniLM-L6: 6 x 12
    assert attention_contribution(n_layers=12, n_heads=12, layers=[10, 11]).width == 24


# -- wordpieces to tokens ------------------------------------------------------------


def _piece_attentions(rng, n_windows, n_layers, n_heads, n_pieces):
    raw = rng.random((n_layers, n_windows, n_heads, n_pieces, n_pieces)).astype("float32")
    return [layer / layer.sum(-1, keepdims=True) for layer in raw]


def _expected_tokens(attentions, layers, token_pieces, n_pieces):
    """Per (layer, head), token i -> token j: over the windows holding both, the mean over
    i's pieces of the sum over j's pieces; then the mean over those windows."""
    n = len(token_pieces)
    n_heads = attentions[0].shape[1]
    out = numpy.zeros((len(layers) * n_heads, n, n))
    for li, layer in enumerate(layers):
        for h in range(n_heads):
            for i in range(n):
                for j in range(n):
                    values = []
                    for w in {p // n_pieces for p in token_pieces[i]} & {p // n_pieces for p in token_pieces[j]}:
                        qs = [p % n_pieces for p in token_pieces[i] if p // n_pieces == w]
                        ks = [p % n_pieces for p in token_pieces[j] if p // n_pieces == w]
                        values.append(numpy.mean([sum(attentions[layer][w, h, q, k] for k in ks) for q in qs]))
                    out[li * n_heads + h, i, j] = numpy.mean(values) if values else 0.0
    return out


def _align(token_pieces):
    lengths = numpy.array([len(p) for p in token_pieces], dtype="int32")
    return lengths, numpy.array([p for pieces in token_pieces for p in pieces], dtype="int32")


def test_a_word_of_several_pieces_is_the_mean_of_its_rows_and_the_sum_of_its_columns():
    # [CLS] john smith##s works [SEP]: token 1 has pieces 2 and 3; [CLS], [SEP] are no token's.
    n_pieces = 6
    token_pieces = [[1], [2, 3], [4]]
    attentions = _piece_attentions(numpy.random.default_rng(1), 1, 2, 3, n_pieces)
    lengths, data = _align(token_pieces)
    plan = plan_sentence(lengths, data, n_pieces, 0, 3)
    got = token_attentions(plan, attentions, [0, 1])
    assert got.shape == (6, 3, 3)
    a = attentions[1][0, 2]  # layer 1, head 2
    assert got[5, 1, 0] == pytest.approx((a[2, 1] + a[3, 1]) / 2)  # rows of the word's pieces: mean
    assert got[5, 0, 1] == pytest.approx(a[1, 2] + a[1, 3])  # columns: sum
    assert got[5, 1, 1] == pytest.approx((a[2, 2] + a[2, 3] + a[3, 2] + a[3, 3]) / 2)
    numpy.testing.assert_allclose(got, _expected_tokens(attentions, [0, 1], token_pieces, n_pieces), rtol=1e-5)
    assert (got.sum(-1) <= 1 + 1e-6).all()  # a token's row is still a (partial) distribution


def test_a_sentence_over_two_windows_averages_the_windows_that_hold_both_tokens():
    # Two windows of 5 pieces: window 0 holds tokens 0, 1, 2; window 1 (strided) holds
    # tokens 1, 2, 3 (token 2 split into two pieces there).
    n_pieces = 5
    token_pieces = [[1], [2, 6], [3, 7, 8], [9]]
    attentions = _piece_attentions(numpy.random.default_rng(2), 2, 1, 2, n_pieces)
    lengths, data = _align(token_pieces)
    plan = plan_sentence(lengths, data, n_pieces, 0, 4)
    got = token_attentions(plan, attentions, [0])
    expected = _expected_tokens(attentions, [0], token_pieces, n_pieces)
    numpy.testing.assert_allclose(got, expected, rtol=1e-5)
    a0, a1 = attentions[0][0, 0], attentions[0][1, 0]
    assert got[0, 1, 2] == pytest.approx((a0[2, 3] + (a1[1, 2] + a1[1, 3])) / 2)  # both windows
    assert got[0, 0, 1] == pytest.approx(a0[1, 2])  # only window 0 holds token 0
    assert got[0, 0, 3] == 0.0 and got[0, 3, 0] == 0.0  # no window holds both
    # a sentence that starts inside the doc: tokens 1..3 only
    sub = token_attentions(plan_sentence(lengths, data, n_pieces, 1, 4), attentions, [0])
    numpy.testing.assert_allclose(sub, got[:, 1:, 1:], rtol=1e-5)


def test_the_backward_pass_is_the_adjoint_of_the_alignment():
    """The token attentions are linear in the piece attentions: <dT, T(A)> = <dA, A>."""
    rng = numpy.random.default_rng(3)
    n_pieces, n_layers, n_heads = 5, 3, 2
    token_pieces = [[1], [2, 6], [3, 7, 8], [9]]
    attentions = _piece_attentions(rng, 2, n_layers, n_heads, n_pieces)
    lengths, data = _align(token_pieces)
    layers = [0, 2]
    plan = plan_sentence(lengths, data, n_pieces, 0, 4)
    tokens = token_attentions(plan, attentions, layers)
    d_tokens = rng.standard_normal(tokens.shape).astype("float32")
    d_pieces = numpy.zeros((2, len(layers), n_heads, n_pieces, n_pieces), dtype="float32")  # the used layers only
    token_attentions_backward(plan, d_tokens, d_pieces, layers, n_heads)
    stacked = numpy.stack([attentions[layer] for layer in layers], axis=1)  # (windows, used layers, heads, P, P)
    assert float((d_tokens * tokens).sum()) == pytest.approx(float((d_pieces * stacked).sum()), rel=1e-4)


class _TrfData:
    def __init__(self, attentions, lengths, data, grad=False):
        self.model_output = {"last_hidden_state": numpy.zeros((1, 1, 1), dtype="f"), "attentions": attentions}
        if grad:
            self.model_output["jere_attention_grad"] = numpy.ones((1,), dtype="f")
        self.align = Ragged(data, lengths)


def test_sentence_attentions_pad_the_sentences_and_check_the_encoder():
    n_pieces = 6
    token_pieces = [[1], [2, 3], [4], [1 + n_pieces], [2 + n_pieces]]  # two sentences, two windows
    attentions = _piece_attentions(numpy.random.default_rng(4), 2, 2, 3, n_pieces)
    lengths, data = _align(token_pieces)
    settings = attention_contribution(n_layers=2, n_heads=3)
    trf = _TrfData(attentions, lengths, data)
    out, backprop = sentence_attentions(NumpyOps(), [trf], [(0, 0, 3), (0, 3, 5)], settings, "here", True)
    assert out.shape == (2, 6, 3, 3)
    numpy.testing.assert_allclose(out[1, :, :2, :2], token_attentions(
        plan_sentence(lengths, data, n_pieces, 3, 5), attentions, [0, 1]), rtol=1e-6)
    assert not out[1, :, 2].any() and not out[1, :, :, 2].any()  # padding
    d_docs = backprop(numpy.ones_like(out))
    assert d_docs[0].shape == (2, 2, 3, n_pieces, n_pieces)
    with pytest.raises(AttentionSetupError, match="n_layers = 4, n_heads = 3: set them"):
        sentence_attentions(NumpyOps(), [trf], [(0, 0, 3)], attention_contribution(n_layers=4, n_heads=3), "here",
                            False)
    trf.model_output.pop("attentions")
    with pytest.raises(AttentionSetupError, match="output_attentions"):
        sentence_attentions(NumpyOps(), [trf], [(0, 0, 3)], settings, "here", False)


# -- pipelines -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A randomly initialised 2-layer, 2-head BERT without dropout (so two runs with one
    seed see the same attentions)."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bert_attn")
    words = sorted({w.lower() for text, _, _ in TRAIN_DATA for w in text.split()} | set("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


LISTENER = {"@architectures": "spacy-transformers.TransformerListener.v1", "grad_factor": 1.0,
            "pooling": {"@layers": "reduce_mean.v1"}, "upstream": "*"}


def build_nlp(encoder: Path, *, architecture="spacy_jere.AttentionTransformerModel.v1", transformer_config=None,
              learn_rate_scale=1.0, **attention):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    model = {"@architectures": architecture, "name": str(encoder),
             "get_spans": {"@span_getters": "spacy_jere.sentence_windows.v1", "window": 128, "stride": 96}}
    if transformer_config is not None:
        model["transformer_config"] = transformer_config
    nlp.add_pipe("transformer", config={"model": model})
    features = {"@architectures": "spacy_jere.AttentionContribution.v1", "n_layers": 2, "n_heads": 2, **attention}
    nlp.add_pipe("span_relation", config={"model": {"tok2vec": dict(LISTENER), "attention_features": features,
                                                    "learn_rate_scale": learn_rate_scale}})
    return nlp


def test_the_tok2vec_must_be_a_transformer_listener():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="attention_features need the encoder's attention weights"):
        nlp.add_pipe("span_relation", config={"model": {"attention_features": {
            "@architectures": "spacy_jere.AttentionContribution.v1"}}})


def test_a_transformer_without_attentions_fails_saying_what_to_set(tiny_bert):
    nlp = build_nlp(tiny_bert, architecture="spacy-transformers.TransformerModel.v3")
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    with pytest.raises(AttentionSetupError, match=r'transformer_config = \{"output_attentions": true\}'):
        nlp.update(examples, sgd=optimizer)


def test_grad_needs_the_attention_transformer_architecture(tiny_bert):
    nlp = build_nlp(tiny_bert, architecture="spacy-transformers.TransformerModel.v3",
                    transformer_config={"output_attentions": True}, grad=True)
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    with pytest.raises(AttentionSetupError, match="spacy_jere.AttentionTransformerModel.v1"):
        nlp.update(examples, sgd=optimizer)


ORIGINAL_CONVERT = transformer_attentions.convert_outputs_with_attentions


def _attention_gradients(encoder, grad, monkeypatch):
    """The encoder's query and key gradients after one update of span_relation (no
    optimizer step), and how many tensors the transformer's backprop was given."""
    module = transformer_attentions
    seen = []
    convert = ORIGINAL_CONVERT

    def spy(model, inputs_outputs, is_train):
        output, backprop = convert(model, inputs_outputs, is_train)

        def counting(d_output):
            result = backprop(d_output)
            seen.append(len(result.args[0]))
            return result

        return output, counting

    monkeypatch.setattr(module, "convert_outputs_with_attentions", spy)
    nlp = build_nlp(encoder, grad=grad, theta=0.0)
    examples = make_examples(nlp)
    spacy.util.fix_random_seed(0)
    nlp.initialize(lambda: examples)
    trf, pipe = nlp.get_pipe("transformer"), nlp.get_pipe("span_relation")
    hf = trf.model.transformer
    for eg in examples:
        nlp.get_pipe("sentencizer")(eg.predicted)
    trf.update(examples, sgd=None)
    pipe.update(examples, sgd=None)
    grads = {name: param.grad.detach().clone() for name, param in hf.named_parameters()
             if (".query." in name or ".key." in name) and param.grad is not None}
    return grads, seen


def test_the_attention_weights_pass_gradient_to_queries_and_keys_only_with_grad(tiny_bert, monkeypatch):
    off, seen_off = _attention_gradients(tiny_bert, False, monkeypatch)
    on, seen_on = _attention_gradients(tiny_bert, True, monkeypatch)
    assert seen_off == [1]  # only last_hidden_state
    assert seen_on == [3]  # last_hidden_state and the attentions of both layers
    assert set(off) == set(on)
    first_query = "encoder.layer.0.attention.self.query.weight"
    # the hidden state's gradient is the same in both runs; the difference is what the
    # attention weights sent back, through the softmax into the queries and keys
    assert not torch.allclose(off[first_query], on[first_query])
    assert not torch.allclose(off["encoder.layer.1.attention.self.key.weight"],
                              on["encoder.layer.1.attention.self.key.weight"])


def test_grad_trains_after_another_listener_that_backprops_first(tiny_bert):
    """A ner listener on the same transformer backprops before span_relation and sends
    one tensor per doc; the attentions' gradient (grad = true) still reaches the queries
    (it used to die with an IndexError in spacy-transformers' accumulate_gradient)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    model = {"@architectures": "spacy_jere.AttentionTransformerModel.v1", "name": str(tiny_bert),
             "get_spans": {"@span_getters": "spacy_jere.sentence_windows.v1", "window": 128, "stride": 96}}
    nlp.add_pipe("transformer", config={"model": model})
    nlp.add_pipe("ner", config={"model": {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
        "hidden_width": 16, "maxout_pieces": 2, "use_upper": False, "tok2vec": dict(LISTENER)}})
    features = {"@architectures": "spacy_jere.AttentionContribution.v1", "n_layers": 2, "n_heads": 2,
                "theta": 0.0, "grad": True, "layers": [1]}
    nlp.add_pipe("span_relation", config={"model": {"tok2vec": dict(LISTENER), "attention_features": features}})
    examples = make_examples(nlp)
    for eg in examples:
        eg.reference.ents = list(eg.reference.spans["entities"])
    spacy.util.fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    losses = {}
    for _ in range(2):
        nlp.update(examples, sgd=optimizer, losses=losses)
    assert all(numpy.isfinite(losses[name]) for name in ("ner", "span_relation", "transformer"))


@pytest.fixture(scope="module")
def trained(tiny_bert):
    nlp = build_nlp(tiny_bert, grad=True, theta=0.2, learn_rate_scale=5.0)
    examples = make_examples(nlp)
    spacy.util.fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    losses = []
    for _ in range(40):
        step = {}
        nlp.update(examples, sgd=optimizer, losses=step)
        losses.append(step["span_relation"])
    return nlp, losses


TEXTS = [text for text, _, _ in TRAIN_DATA[:4]] + ["John Smith works for Acme Corp . Mary Jones lives in Paris ."]


def test_a_tiny_pipeline_with_attention_features_trains(trained):
    nlp, losses = trained
    assert losses[-1] < 0.5 * losses[0], losses
    net = nlp.get_pipe("span_relation").model.get_ref("net").layers[0].shims[0]._model
    assert net.attention is not None and net.attention.width == 4
    doc = nlp(TEXTS[0])
    assert "attentions" not in doc._.trf_data.model_output  # released after reading (drop_attentions)
    assert len(doc.spans["entities"]) > 0


def test_save_and_load_give_the_same_predictions(trained, tmp_path):
    nlp, _ = trained
    expected = end_to_end_predictions(nlp, TEXTS)
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert loaded.config["components"]["span_relation"]["model"]["attention_features"]["theta"] == 0.2
    assert end_to_end_predictions(loaded, TEXTS) == expected
    # a process that never imports spacy_jere finds the parts through the entry points
    check_fresh_process(tmp_path / "model", end_to_end_predictions(nlp, end_to_end.TEXTS))
    again = spacy.util.load_model_from_config(nlp.config, auto_fill=True)
    again.from_bytes(nlp.to_bytes())
    assert end_to_end_predictions(again, TEXTS) == expected


def test_attention_features_on_a_gpu(trained):
    if not torch.cuda.is_available():
        pytest.skip("no GPU")
    nlp, _ = trained
    data, config = nlp.to_bytes(), nlp.config
    spacy.require_gpu()
    try:
        on_gpu = spacy.util.load_model_from_config(config, auto_fill=True)
        on_gpu.from_bytes(data)
        got = end_to_end_predictions(on_gpu, TEXTS)
        assert len(got) == len(TEXTS)
        examples = make_examples(on_gpu)
        losses = {}
        on_gpu.update(examples, sgd=on_gpu.create_optimizer(), losses=losses)
        assert losses["span_relation"] > 0
    finally:
        spacy.require_cpu()


def test_the_net_widens_the_span_features_and_combines_with_the_pruner():
    from spacy_jere.architectures import linear_classifier, max_pool_span_encoder, spert_relation_encoder
    from spacy_jere.heads import spert_head
    from spacy_jere.layers.net import build_net
    from spacy_jere.layers.pruning import span_pruner

    settings = attention_contribution(n_layers=2, n_heads=3)
    head = spert_head(linear_classifier(), linear_classifier())
    pruner = span_pruner(retention=0.5, min_keep=1)
    net = build_net(max_pool_span_encoder(), spert_relation_encoder(), head, token_width=8, n_entity_classes=3,
                    n_relation_labels=2, max_span_width=4, pruner=pruner, attention=settings)
    plain = build_net(max_pool_span_encoder(), spert_relation_encoder(), head, token_width=8, n_entity_classes=3,
                      n_relation_labels=2, max_span_width=4)
    assert net.pruner.scorer.in_features == plain.span_encoder.output_width + plain.span_encoder.context_width + 6
    tokens = torch.randn(6, 8)
    spans = torch.tensor([[0, 1], [2, 4], [4, 6]])
    sents = torch.tensor([[0, 6]] * 3)
    zeros = torch.zeros(3, dtype=torch.long)
    attentions = torch.rand(1, 6, 6, 6).requires_grad_(True)
    out = net(tokens, spans, sents, zeros, zeros, pairs=torch.tensor([[0, 1]]), span_types=torch.tensor([1, 2, 0]),
              sentence_attentions=attentions, attention_rows=zeros)
    out["span_logits"].sum().backward()
    assert attentions.grad is not None
    net.eval()
    out = net(tokens, spans, sents, zeros, zeros, sentence_attentions=attentions.detach(), attention_rows=zeros)
    assert out["entity_labels"].shape == (3,)
    with pytest.raises(ValueError, match="attention features need sentence_attentions"):
        net(tokens, spans, sents, zeros, zeros)
