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
