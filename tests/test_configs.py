import subprocess
import sys
from pathlib import Path

import pytest

from .test_end_to_end import write_corpus

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "configs").glob("*.cfg")))
def test_spacy_debug_config_accepts(config, tmp_path):
    corpus = write_corpus(tmp_path / "c.spacy")
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "debug", "config", str(ROOT / "configs" / config),
         "--paths.train", str(corpus), "--paths.dev", str(corpus),
         # the overrides project.yml's train command passes to every config
         "--training.optimizer.learn_rate.total_steps", "100", "--training.optimizer.learn_rate.warmup_steps", "10",
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


def _experiments():
    import srsly

    return srsly.read_yaml(ROOT / "configs" / "experiments.yml")


@pytest.mark.parametrize("row", sorted(_experiments()["rows"]))
def test_every_experiment_row_builds_a_valid_pipeline_and_net(row, tmp_path):
    """scripts/experiment.py's config for each row passes `spacy debug config`, and
    its span_relation model builds its net."""
    import importlib.util

    import spacy
    from spacy.util import load_model_from_config

    spec = importlib.util.spec_from_file_location("experiment", ROOT / "scripts" / "experiment.py")
    experiment = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(experiment)
    config = experiment.row_config(row, _experiments())
    config_path = tmp_path / "row.cfg"
    config.to_disk(config_path)
    corpus = write_corpus(tmp_path / "c.spacy")
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "debug", "config", str(config_path),
         "--paths.train", str(corpus), "--paths.dev", str(corpus)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    config["paths"]["encoder"] = None  # no encoder download/load: only the head is built here
    del config["components"]["transformer"]
    config["nlp"]["pipeline"] = ["span_relation"]
    config["components"]["span_relation"]["model"]["tok2vec"] = {
        "@architectures": "spacy.HashEmbedCNN.v2", "width": 16, "depth": 1, "embed_size": 100,
        "window_size": 1, "maxout_pieces": 2, "subword_features": False, "pretrained_vectors": None,
    }
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    model = nlp.get_pipe("span_relation").model
    model.build_net(token_width=16, n_entity_classes=4, n_relation_labels=3, max_span_width=10)
    assert model.attrs["has_net"]
    assert isinstance(nlp, spacy.language.Language)
