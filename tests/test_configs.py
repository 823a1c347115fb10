import subprocess
import sys
from pathlib import Path

import pytest
from spacy.util import load_config

from .test_end_to_end import write_corpus

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "configs").glob("*.cfg")))
def test_spacy_debug_config_accepts(config, tmp_path):
    corpus = write_corpus(tmp_path / "c.spacy")
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "debug", "config", str(ROOT / "configs" / config),
         "--paths.train", str(corpus), "--paths.dev", str(corpus),
         "--system.seed", "1"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Config is valid" in result.stdout


def test_gpu_config_asks_for_gpu_memory_and_mixed_precision():
    from spacy.util import load_config

    config = load_config(ROOT / "configs" / "gpu.cfg")
    assert config["system"]["gpu_allocator"] == "pytorch"
    assert config["components"]["transformer"]["model"]["mixed_precision"] is True
    assert config["components"]["span_relation"]["model"]["mixed_precision"] is True
    assert config["paths"]["encoder"] == "bert-base-cased"


def _sources():
    from spacy_jere.experiments.configs import load_sources

    return load_sources()


@pytest.mark.parametrize("row", sorted(_sources()["rows"]))
def test_every_experiment_row_builds_a_valid_pipeline_and_net(row, tmp_path):
    """The config the experiment runner writes for each row passes `spacy debug config`,
    and its span_relation model builds and runs (on a small CNN tok2vec instead of the
    transformer: nothing to download)."""
    from spacy.training import Corpus
    from spacy.util import load_model_from_config

    from spacy_jere.experiments.configs import row_config, row_text

    sources = _sources()
    config_path = tmp_path / "row.cfg"
    config_path.write_text(row_text(row, sources))
    corpus = write_corpus(tmp_path / "c.spacy")
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "debug", "config", str(config_path),
         "--paths.train", str(corpus), "--paths.dev", str(corpus)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    config = row_config(row, sources)
    config["paths"]["encoder"] = None
    del config["components"]["transformer"]
    config["nlp"]["pipeline"] = ["sentencizer", "span_relation"]
    # Parts that read the transformer itself (attention features, position markers) are
    # built and trained with the bundled encoder in their own tests.
    config["components"]["span_relation"]["model"].pop("attention_features", None)
    config["components"]["span_relation"]["model"].pop("markers", None)
    config["components"]["span_relation"]["model"]["tok2vec"] = {
        "@architectures": "spacy.HashEmbedCNN.v2", "width": 16, "depth": 1, "embed_size": 100,
        "window_size": 1, "maxout_pieces": 2, "subword_features": False, "pretrained_vectors": None,
    }
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    examples = list(Corpus(str(corpus))(nlp))
    nlp.initialize(lambda: examples)
    doc = nlp("John Smith works for Acme Corp in Boston .")
    assert len(doc) == 9


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "configs").glob("*.cfg")))
def test_configs_segment_text_before_the_component(config):
    """The sentencizer and splitter run before span_relation; training docs are used as
    they come (annotating_components = [], see docs/configuration.md for documents)."""
    cfg = load_config(ROOT / "configs" / config)
    assert cfg["training"]["annotating_components"] == []
    pipeline = cfg["nlp"]["pipeline"]
    assert pipeline.index("sentencizer") < pipeline.index("long_sentence_splitter") < pipeline.index("span_relation")
