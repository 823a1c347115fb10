"""PERA's position-attentive markers (paper 000, section 3.1, eq. 1-4): the encoder input
(marker ids, position ids, the attention rule), what span_relation reads (a span's
marker vectors are its first and last words'), windows, errors, a tiny transformer
pipeline that trains, saves and loads, and the GPU path."""
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from thinc.api import NumpyOps

from spacy_jere.layers.position_markers import insert_markers, span_markers
from spacy_jere.transformer_markers import (
    MARKER_TOKENS,
    MARKERS,
    MarkerSetupError,
    marker_inputs,
    marker_transformer_model,
    marker_vectors,
    plan_markers,
)

from . import test_end_to_end as end_to_end
from .conftest import TRAIN_DATA, make_examples
from .test_end_to_end import check_fresh_process
from .test_end_to_end import predictions as end_to_end_predictions

B_ID, E_ID = 1, 2  # [unused0], [unused1] in the tiny vocabulary below (as in BERT's)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A randomly initialised 2-layer BERT without dropout whose vocabulary has [unused0]
    and [unused1] at BERT's ids."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bert_markers")
    words = sorted({w.lower() for text, _, _ in TRAIN_DATA for w in text.split()} | set("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + [
        f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


def _tiny_encoder(folder: Path, config) -> Path:
    """A randomly initialised encoder of ``config`` (a transformers config) with the tiny
    BERT vocabulary's tokenizer, saved in ``folder``."""
    from transformers import AutoModel, BertTokenizerFast

    words = sorted({w.lower() for text, _, _ in TRAIN_DATA for w in text.split()} | set("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + [
        f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    config.vocab_size = len(vocab)
    torch.manual_seed(0)
    AutoModel.from_config(config).save_pretrained(folder)
    return folder


TINY = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
        "max_position_embeddings": 512, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}


def test_an_encoder_without_3d_masks_needs_full_attention(tmp_path):
    """ALBERT (transformers 4.49) does not take the levitated rule's 3D attention mask."""
    from transformers import AlbertConfig

    encoder = _tiny_encoder(tmp_path, AlbertConfig(embedding_size=16, **TINY))
    nlp = transformer_nlp(encoder)
    nlp.initialize()
    with pytest.raises(MarkerSetupError, match=r'AlbertModel.*3D attention mask.*set marker_attention = "full"'):
        nlp("John works for Acme .")
    full = transformer_nlp(encoder, marker_attention="full")
    full.initialize()
    doc = full("John works for Acme .")
    assert doc._.trf_data.model_output[MARKERS].shape == (1, 10, 32)  # [B] [E] of 5 words


@pytest.mark.parametrize("relative", [True, False])
def test_an_encoder_without_absolute_positions_is_refused(tmp_path, relative):
    """DeBERTa-v3-style encoders (relative attention, no absolute position embeddings)
    ignore position_ids, so a marker could not sit on its word; the check is also made by
    running the encoder (position_embedding_type absent from the config)."""
    from transformers import DebertaV2Config

    config = DebertaV2Config(relative_attention=True, position_biased_input=False, pos_att_type=["p2c", "c2p"],
                             max_relative_positions=-1, position_buckets=8, **TINY)
    encoder = _tiny_encoder(tmp_path, config)
    nlp = transformer_nlp(encoder, marker_attention="full")
    nlp.initialize()
    if not relative:  # the config no longer says so: the probe finds it
        hf = nlp.get_pipe("transformer").model.transformer
        hf.config.relative_attention = False
        hf.config.position_biased_input = True
        message = "ignores position_ids"
    else:
        message = "uses relative attention"
    with pytest.raises(MarkerSetupError, match=f"DebertaV2Model.*{message}.*absolute position embeddings"):
        nlp("John works for Acme .")


def transformer_nlp(encoder: Path, architecture="spacy_jere.MarkerTransformerModel.v1", window=128, stride=96,
                    **settings):
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    model = {"@architectures": architecture, "name": str(encoder),
             "get_spans": {"@span_getters": "spacy_jere.sentence_windows.v1", "window": window, "stride": stride},
             **settings}
    nlp.add_pipe("transformer", config={"model": model})
    return nlp


def _spy_inputs(nlp, monkeypatch):
    """The kwargs the encoder is called with, batch by batch."""
    hf = nlp.get_pipe("transformer").model.transformer
    seen = []
    original = hf.forward

    def spy(*args, **kwargs):
        seen.append({k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()})
        return original(*args, **kwargs)

    monkeypatch.setattr(hf, "forward", spy)
    return seen


# -- the encoder input ---------------------------------------------------------------------


def test_marker_position_ids_are_their_words_first_and_last_pieces(tiny_bert, monkeypatch):
    nlp = transformer_nlp(tiny_bert)
    nlp.initialize()
    seen = _spy_inputs(nlp, monkeypatch)
    doc = nlp("John Smithx works .")  # smithx: smith ##x (two pieces)
    call = seen[-1]
    pieces = doc._.trf_data.wordpieces.input_ids[0].tolist()
    assert pieces[0] == 4 and pieces[-1] == 5  # [CLS] ... [SEP]
    p = len(pieces)
    ids, positions = call["input_ids"][0].tolist(), call["position_ids"][0].tolist()
    assert ids[:p] == pieces and positions[:p] == list(range(p))  # the text as without markers
    assert ids[p:] == [B_ID, E_ID] * 4  # [B_i] [E_i] for the 4 words
    align = doc._.trf_data.align
    for i in range(len(doc)):
        word_pieces = align[i].dataXd.ravel().tolist()
        assert positions[p + 2 * i] == word_pieces[0]  # [B_i]: the first piece of word i
        assert positions[p + 2 * i + 1] == word_pieces[-1]  # [E_i]: its last
    assert positions[p + 2:p + 4] == [2, 3]  # "smithx" = pieces 2, 3
    numpy.testing.assert_array_equal(doc._.trf_data.model_output[MARKER_TOKENS], [[0, 1, 2, 3]])
    assert doc._.trf_data.model_output[MARKERS].shape == (1, 8, 32)


def test_the_levitated_mask_text_sees_text_a_marker_sees_the_text_and_its_pair():
    # two windows: 5 pieces with 2 words (the second: 3 pieces ... as 1 here), one of 3 pieces
    input_ids = numpy.array([[4, 10, 11, 5, 0], [4, 12, 5, 0, 0]])
    text = numpy.array([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]])
    plan_tokens = numpy.array([[0, 1], [2, -1]])

    class Plan:
        tokens, first, last, n_pieces, n_pairs = plan_tokens, numpy.array([[1, 2], [1, 0]]), \
            numpy.array([[1, 2], [1, 0]]), 5, 2

    out = marker_inputs(Plan, input_ids, text, None, numpy.array([B_ID, E_ID]), 0, 0, "levitated")
    mask = out["attention_mask"]
    assert mask.shape == (2, 9, 9)
    numpy.testing.assert_array_equal(mask[0, :5, :5], numpy.tile(text[0], (5, 1)))  # text and padding rows
    assert not mask[0, :5, 5:].any()  # the text does not see the markers
    numpy.testing.assert_array_equal(mask[0, 5, :], [1, 1, 1, 1, 0, 1, 1, 0, 0])  # B_0: text + its pair
    numpy.testing.assert_array_equal(mask[0, 8, :], [1, 1, 1, 1, 0, 0, 0, 1, 1])  # E_1
    numpy.testing.assert_array_equal(mask[1, 7, :], [1, 1, 1, 0, 0, 0, 0, 0, 0])  # a padding marker: text only
    assert out["input_ids"][1, 5:].tolist() == [B_ID, E_ID, 0, 0]
    assert out["position_ids"][0, 5:].tolist() == [1, 1, 2, 2]
    full = marker_inputs(Plan, input_ids, text, None, numpy.array([B_ID, E_ID]), 0, 0, "full")["attention_mask"]
    numpy.testing.assert_array_equal(full, [[1, 1, 1, 1, 0, 1, 1, 1, 1], [1, 1, 1, 0, 0, 1, 1, 0, 0]])
    # RoBERTa-style embeddings count positions from padding_idx + 1
    offset = marker_inputs(Plan, input_ids, text, None, numpy.array([B_ID, E_ID]), 0, 2, "full")["position_ids"]
    assert offset[0].tolist() == [2, 3, 4, 5, 6, 3, 3, 4, 4]


def test_text_vectors_are_unchanged_by_levitated_markers_and_changed_by_full_attention(tiny_bert):
    texts = ["John Smithx works for Acme Corp in Boston .", "Mary Jones lives in Paris . Paris is in France ."]
    plain = transformer_nlp(tiny_bert, architecture="spacy-transformers.TransformerModel.v3")
    levitated, full = transformer_nlp(tiny_bert), transformer_nlp(tiny_bert, marker_attention="full")
    for nlp in (plain, levitated, full):
        nlp.initialize()
    for a, b, c in zip(plain.pipe(texts), levitated.pipe(texts), full.pipe(texts), strict=True):
        base = a._.trf_data.model_output.last_hidden_state
        numpy.testing.assert_allclose(b._.trf_data.model_output.last_hidden_state, base, atol=1e-5)
        assert numpy.abs(c._.trf_data.model_output.last_hidden_state - base).max() > 1e-3
        numpy.testing.assert_array_equal(b._.trf_data.align.dataXd, a._.trf_data.align.dataXd)


def test_a_sentence_over_two_windows_gets_the_mean_of_its_windows_markers(tiny_bert, monkeypatch):
    nlp = transformer_nlp(tiny_bert, window=4, stride=3)  # 6 words: windows of words 0-3 and 3-5
    nlp.initialize()
    seen = _spy_inputs(nlp, monkeypatch)
    doc = nlp("Mary Jones lives in Paris .")
    output = doc._.trf_data.model_output
    tokens = output[MARKER_TOKENS]
    numpy.testing.assert_array_equal(tokens, [[0, 1, 2, 3], [3, 4, 5, -1]])
    positions = seen[-1]["position_ids"]
    p = doc._.trf_data.wordpieces.input_ids.shape[1]
    assert positions[1, p:p + 2].tolist() == [1, 1]  # word 3 is the second window's first word
    assert positions[0, p + 6:p + 8].tolist() == [4, 4]  # and the first window's fourth
    markers = output[MARKERS]
    per_token, _ = marker_vectors(NumpyOps(), [doc._.trf_data], [len(doc)], 32, "here")
    vectors = per_token[0]
    assert vectors.shape == (6, 64)
    numpy.testing.assert_allclose(vectors[0], numpy.concatenate([markers[0, 0], markers[0, 1]]), rtol=1e-6)
    both = (numpy.concatenate([markers[0, 6], markers[0, 7]]) + numpy.concatenate([markers[1, 0], markers[1, 1]])) / 2
    numpy.testing.assert_allclose(vectors[3], both, rtol=1e-5)
    numpy.testing.assert_allclose(vectors[5], numpy.concatenate([markers[1, 4], markers[1, 5]]), rtol=1e-6)


def test_plan_skips_words_without_pieces():
    # one doc "a  b" with a whitespace token: token 1 has no piece
    class Doc:
        def __len__(self):
            return 3

    class Span:
        doc = Doc()

    plan = plan_markers([Span()], numpy.array([1, 0, 2]), numpy.array([1, 2, 3]), 5)
    numpy.testing.assert_array_equal(plan.tokens, [[0, 2]])
    numpy.testing.assert_array_equal(plan.first, [[1, 2]])
    numpy.testing.assert_array_equal(plan.last, [[1, 3]])


def test_the_backward_of_the_marker_vectors_is_their_adjoint():
    rng = numpy.random.default_rng(0)

    class Data:
        model_output = {"last_hidden_state": numpy.zeros((2, 3, 4), "f"),
                        MARKERS: rng.standard_normal((2, 6, 4)).astype("f"),
                        MARKER_TOKENS: numpy.array([[0, 1, 2], [2, 3, -1]])}

    out, backprop = marker_vectors(NumpyOps(), [Data], [5], 4, "here")
    assert not out[0][4].any()  # token 4: no markers
    d_out = rng.standard_normal(out[0].shape).astype("f")
    d_markers = backprop([d_out])[0]
    assert float((d_out * out[0]).sum()) == pytest.approx(float((d_markers * Data.model_output[MARKERS]).sum()),
                                                          rel=1e-5)


# -- the net side --------------------------------------------------------------------------


def test_a_span_gets_its_first_words_b_and_its_last_words_e():
    token_markers = torch.arange(5 * 4, dtype=torch.float32).reshape(5, 4)  # [B; E] of 2 columns each
    spans = torch.tensor([[1, 4], [2, 3]])
    got = span_markers(token_markers, spans)
    assert got[0].tolist() == token_markers[1, :2].tolist() + token_markers[3, 2:].tolist()
    assert got[1].tolist() == token_markers[2].tolist()  # a one-word span: its own [B] and [E]
    reps = torch.ones((2, 5))  # 3 columns of representation, 2 of width embedding
    assert insert_markers(reps, got, 2)[:, 3:7].tolist() == got.tolist()  # eq. 3: before the width embedding
    assert insert_markers(reps, got, 2)[:, 7:].tolist() == [[1, 1]] * 2


def test_bad_settings_name_the_setting():
    with pytest.raises(MarkerSetupError, match="marker_attention must be one of"):
        marker_transformer_model("x", lambda docs: [], marker_attention="both")
    with pytest.raises(MarkerSetupError, match="marker_tokens must be two different"):
        marker_transformer_model("x", lambda docs: [], marker_tokens=["[unused0]"])


def test_a_vocabulary_without_the_marker_tokens_says_what_to_set(tiny_bert):
    nlp = transformer_nlp(tiny_bert, marker_tokens=["[B]", "[E]"])
    with pytest.raises(MarkerSetupError, match=r"\['\[B\]', '\[E\]'\] are not in the vocabulary.*set marker_tokens"):
        nlp.initialize()
        nlp("John works .")


LISTENER = {"@architectures": "spacy-transformers.TransformerListener.v1", "grad_factor": 1.0,
            "pooling": {"@layers": "reduce_mean.v1"}, "upstream": "*"}
MARKERS_PART = {"@architectures": "spacy_jere.PositionMarkers.v1"}


def build_nlp(encoder: Path, architecture="spacy_jere.MarkerTransformerModel.v1", model=None, **settings):
    nlp = transformer_nlp(encoder, architecture=architecture, **settings)
    config = {"tok2vec": dict(LISTENER), "markers": dict(MARKERS_PART), "learn_rate_scale": 5.0, **(model or {})}
    nlp.add_pipe("span_relation", config={"model": config})
    return nlp


def test_markers_need_a_transformer_listener():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="markers need the marker tokens' vectors"):
        nlp.add_pipe("span_relation", config={"model": {"markers": dict(MARKERS_PART)}})


def test_markers_without_the_marker_transformer_say_what_to_set(tiny_bert):
    nlp = build_nlp(tiny_bert, architecture="spacy-transformers.TransformerModel.v3")
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    with pytest.raises(MarkerSetupError, match='@architectures = "spacy_jere.MarkerTransformerModel.v1"'):
        nlp.update(examples, sgd=optimizer)


def test_markers_with_gated_relation_fusion_say_what_to_set(tiny_bert):
    nlp = build_nlp(tiny_bert, model={
        "span_encoder": {"@architectures": "spacy_jere.MaxPoolSpanEncoder.v1", "fusion": "gated"},
        "relation_encoder": {"@architectures": "spacy_jere.SpERTRelationEncoder.v1", "fusion": "gated"}})
    examples = make_examples(nlp)
    with pytest.raises(ValueError, match='markers widen the span representations.*fusion = "concat"'):
        nlp.initialize(lambda: examples)


def test_the_markers_receive_gradient(tiny_bert):
    """One update: the marker embedding rows ([unused0], [unused1]) get gradient only
    through the markers, which only the span_relation model reads."""
    nlp = build_nlp(tiny_bert)
    examples = make_examples(nlp)
    spacy.util.fix_random_seed(0)
    nlp.initialize(lambda: examples)
    for eg in examples:
        nlp.get_pipe("sentencizer")(eg.predicted)
    trf, pipe = nlp.get_pipe("transformer"), nlp.get_pipe("span_relation")
    embeddings = trf.model.transformer.embeddings.word_embeddings.weight
    trf.update(examples, sgd=None)
    pipe.update(examples, sgd=None)
    grad = embeddings.grad
    assert grad is not None and float(grad[B_ID].abs().sum()) > 0 and float(grad[E_ID].abs().sum()) > 0


def _markers_and_features(encoder, grad):
    features = {"@architectures": "spacy_jere.AttentionContribution.v1", "n_layers": 2, "n_heads": 2,
                "theta": 0.0, "grad": grad}
    nlp = build_nlp(encoder, model={"attention_features": features}, transformer_config={"output_attentions": True})
    examples = make_examples(nlp)
    spacy.util.fix_random_seed(0)
    nlp.initialize(lambda: examples)
    for eg in examples:
        nlp.get_pipe("sentencizer")(eg.predicted)
    trf, pipe = nlp.get_pipe("transformer"), nlp.get_pipe("span_relation")
    losses = {}
    trf.update(examples, sgd=None)
    pipe.update(examples, sgd=None, losses=losses)
    assert numpy.isfinite(losses["span_relation"])
    hf = trf.model.transformer
    grads = {name: param.grad.detach().clone() for name, param in hf.named_parameters() if param.grad is not None}
    return nlp, grads


def test_markers_and_attention_features_in_one_pipeline(tiny_bert):
    """ASpERT's features read the text's block of the attentions (the alignment's piece
    indices hold), and with grad = true their gradient reaches the queries and keys."""
    nlp, off = _markers_and_features(tiny_bert, False)
    _, on = _markers_and_features(tiny_bert, True)
    doc = nlp.get_pipe("transformer")(nlp.get_pipe("sentencizer")(nlp.make_doc(TEXTS[0])))
    data = doc._.trf_data
    p, n = data.wordpieces.input_ids.shape[1], int(data.wordpieces.lengths[0])
    assert data.model_output["attentions"][0].shape[-2:] == (p, p)  # the text's block
    # levitated: the text's rows are still distributions over the text
    numpy.testing.assert_allclose(data.model_output["attentions"][0][0, :, :n].sum(-1), 1.0, rtol=1e-5)
    query = "encoder.layer.0.attention.self.query.weight"
    assert not torch.allclose(off[query], on[query])  # what the attention weights sent back
    assert float(on["embeddings.word_embeddings.weight"][B_ID].abs().sum()) > 0


@pytest.fixture(scope="module")
def trained(tiny_bert):
    nlp = build_nlp(tiny_bert, model={"relation_encoder": {"@architectures": "spacy_jere.SpERTRelationEncoder.v1",
                                                           "span_width_embedding": False}})
    examples = make_examples(nlp)
    spacy.util.fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    losses = []
    for _ in range(30):
        step = {}
        nlp.update(examples, sgd=optimizer, losses=step)
        losses.append(step["span_relation"])
    return nlp, losses


TEXTS = [text for text, _, _ in TRAIN_DATA[:4]] + ["John Smith works for Acme Corp . Mary Jones lives in Paris ."]


def test_a_tiny_pipeline_with_markers_trains(trained):
    nlp, losses = trained
    assert losses[-1] < 0.5 * losses[0], losses
    net = nlp.get_pipe("span_relation").model.get_ref("net").layers[0].shims[0]._model
    assert net.markers is not None
    # the span features: context 32 + pooled 32 + [B; E] 64 + width 25; the pair reads the spans without width
    assert net.head.span_classifier.layers[1].in_features == 32 + 32 + 64 + 25
    assert net.relation_encoder.span_columns == 32 + 64
    doc = nlp(TEXTS[0])
    assert len(doc.spans["entities"]) > 0
    # read, then released (drop_markers); the rest of the transformer's output stays
    assert MARKERS not in doc._.trf_data.model_output and MARKER_TOKENS not in doc._.trf_data.model_output
    assert "last_hidden_state" in doc._.trf_data.model_output


def test_drop_markers_false_keeps_them(tiny_bert):
    nlp = build_nlp(tiny_bert, model={"markers": {**MARKERS_PART, "drop_markers": False}})
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    doc = nlp(TEXTS[0])
    assert doc._.trf_data.model_output[MARKERS].shape == (1, 2 * len(doc), 32)
    with pytest.raises(ValueError, match="drop_markers"):
        build_nlp(tiny_bert, model={"markers": {**MARKERS_PART, "drop_markers": "yes"}}).initialize(lambda: examples)


def test_save_and_load_give_the_same_predictions(trained, tmp_path):
    nlp, _ = trained
    expected = end_to_end_predictions(nlp, TEXTS)
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert loaded.config["components"]["transformer"]["model"]["@architectures"] == \
        "spacy_jere.MarkerTransformerModel.v1"
    assert end_to_end_predictions(loaded, TEXTS) == expected
    # a process that never imports spacy_jere finds the parts through the entry points
    check_fresh_process(tmp_path / "model", end_to_end_predictions(nlp, end_to_end.TEXTS))
    again = spacy.util.load_model_from_config(nlp.config, auto_fill=True)
    again.from_bytes(nlp.to_bytes())
    assert end_to_end_predictions(again, TEXTS) == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_markers_on_the_gpu(tiny_bert):
    spacy.require_gpu()
    try:
        nlp = build_nlp(tiny_bert, mixed_precision=True)
        examples = make_examples(nlp)
        spacy.util.fix_random_seed(0)
        optimizer = nlp.initialize(lambda: examples)
        losses = {}
        for _ in range(3):
            nlp.update(examples, sgd=optimizer, losses=losses)
        assert numpy.isfinite(losses["span_relation"])
        doc = nlp(TEXTS[0], disable=["span_relation"])
        assert nlp.get_pipe("transformer").model.transformer.device.type == "cuda"
        assert doc._.trf_data.model_output[MARKERS].shape[-1] == 32
    finally:
        spacy.require_cpu()


NER_MODEL = {"@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
             "hidden_width": 16, "maxout_pieces": 2, "use_upper": False, "tok2vec": dict(LISTENER)}


def _ner_before_span_relation(encoder, model=None, **settings):
    """sentencizer -> transformer -> ner (a listener that sends last_hidden_state only)
    -> span_relation (which sends the markers' gradient too), as configs/upstream_ner.cfg."""
    nlp = transformer_nlp(encoder, **settings)
    nlp.add_pipe("ner", config={"model": NER_MODEL})
    config = {"tok2vec": dict(LISTENER), "markers": dict(MARKERS_PART), "learn_rate_scale": 5.0, **(model or {})}
    nlp.add_pipe("span_relation", config={"model": config})
    examples = make_examples(nlp)
    for eg in examples:
        eg.reference.ents = list(eg.reference.spans["entities"])
    return nlp, examples


def test_markers_train_after_another_listener_that_backprops_first(tiny_bert):
    """The ner listener backprops before span_relation and sends one tensor per doc; the
    markers' gradient must still reach the encoder (it used to die with an IndexError in
    spacy-transformers' accumulate_gradient)."""
    nlp, examples = _ner_before_span_relation(tiny_bert)
    spacy.util.fix_random_seed(0)
    optimizer = nlp.initialize(lambda: examples)
    embeddings = nlp.get_pipe("transformer").model.transformer.embeddings.word_embeddings.weight
    before = embeddings.detach().clone()
    losses = {}
    for _ in range(2):
        nlp.update(examples, sgd=optimizer, losses=losses)
    assert all(numpy.isfinite(losses[name]) for name in ("ner", "span_relation", "transformer"))
    # [unused0] / [unused1] get gradient only through span_relation's markers
    after = embeddings.detach()
    assert float((after[B_ID] - before[B_ID]).abs().sum()) > 0
    assert float((after[E_ID] - before[E_ID]).abs().sum()) > 0
