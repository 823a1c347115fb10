"""Where the configs, models and benchmark results live. Every writer and the report
take their paths from here, so bench/ has one layout:

  bench/accuracy/<dataset>/<row>/seed<N>.json  one training + dev evaluation of a row (`run`)
  bench/speed/<dataset>.json                   each row's training s/epoch and inference docs/s (`speed`)
  bench/inference/<dataset>/<name>.json        inference speed, scaling and memory of a model (`inference`)
  bench/training_cost/<dataset>.json           training cost of our head vs a tagger (`training`)
  bench/attention/<name>.json                  micro-benchmarks of the attention layer (`attention`)
  bench/dev_scores/<dataset>/<config>_seed<N>.json
                                               dev scores alone (no run record) of early single runs
  bench/README.md, bench/results.json          the report of all of the above (`report`)

(`training/` and `metrics/` are git-ignored anywhere, hence training_cost/ and dev_scores/.)
"""
from pathlib import Path

# The project checkout: the experiments run from a source tree (pip install -e .).
ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
BENCH = ROOT / "bench"
MODELS = ROOT / "training" / "runs"  # trained models of the runs: not committed


def corpus(dataset: str) -> Path:
    return ROOT / "corpus" / dataset


def accuracy_result(dataset: str, row: str, seed: int, bench: Path = BENCH) -> Path:
    return bench / "accuracy" / dataset / row / f"seed{seed}.json"


def accuracy_results(bench: Path = BENCH, dataset: str = "*", row: str = "*") -> list:
    return sorted((bench / "accuracy").glob(f"{dataset}/{row}/seed*.json"))


def run_model_dir(dataset: str, row: str, seed: int) -> Path:
    return MODELS / dataset / row / f"seed{seed}"


def speed_file(dataset: str, bench: Path = BENCH) -> Path:
    return bench / "speed" / f"{dataset}.json"


def inference_file(dataset: str, name: str, bench: Path = BENCH) -> Path:
    return bench / "inference" / dataset / f"{name}.json"


def training_cost_file(dataset: str, bench: Path = BENCH) -> Path:
    return bench / "training_cost" / f"{dataset}.json"


def attention_file(name: str, bench: Path = BENCH) -> Path:
    return bench / "attention" / f"{name}.json"


def report_files(bench: Path = BENCH) -> tuple:
    """(Markdown, JSON) of the report."""
    return bench / "README.md", bench / "results.json"
