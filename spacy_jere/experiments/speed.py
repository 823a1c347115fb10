"""Speed of the rows of configs/experiments.yml, one after the other in one run: training
seconds per step at the row's own batch size (about 480 train sentences after 5 warm-up
steps) and inference docs/s on dev of a trained model of each row; merged into
bench/speed/<dataset>.json. The baseline is measured first in every run; each row keeps
that run's baseline figures.
"""
import json
import math
import subprocess
import sys
import time
from pathlib import Path

from . import layout
from .configs import row_config, row_text
from .machine import machine
from .runner import trained_model

# The baseline's figures copied into each row's speed entry, measured in the same run.
BASELINE_SPEED_KEYS = ("seconds_per_epoch", "inference_docs_per_s", "encoder_only_docs_per_s", "measured")


def earlier_speed_figures(path: Path, dataset: str) -> dict:
    """The rows measured earlier in `path` (none if it is missing or of another
    dataset), each with the batch sizes, step count and machine it was measured with."""
    figures = json.loads(path.read_text()) if path.exists() else {}
    if figures.get("dataset") != dataset or "rows" not in figures:
        return {"dataset": dataset, "rows": {}}
    # Files written before rows were timed at their own batch size: one batch size, step
    # count and machine for all rows, at the top.
    old_batch, old_steps = figures.pop("batch_size", None), figures.pop("steps", None)
    old_machine = figures.pop("machine", None)
    for entry in figures["rows"].values():
        if old_batch is not None:
            entry.setdefault("train_batch_size", old_batch)
            entry.setdefault("train_steps", old_steps)
            if "model" in entry:
                entry.setdefault("inference_batch_size", old_batch)
        entry.setdefault("machine", old_machine)
    return figures


def _experiments_command(*args) -> list:
    return [sys.executable, "-m", "spacy_jere.experiments", *map(str, args)]


def measure_speed(rows, dataset: str, sources: dict, out: Path, docs: int, batch_size: int) -> dict:
    """Each row's training step time (at the row's own batch size, over about `docs`
    train sentences) and inference rate (at `batch_size`), measured one after the other,
    each in its own subprocess. Rows measured earlier stay in `out`, each with its own
    machine and date: a row can be re-measured alone.

    The baseline is measured first in every run and its figures are stored in each
    row's entry (`baseline_in_run`): a row is compared with the baseline measured beside
    it, not with whichever baseline figure is newest (the machine drifts between runs)."""
    figures = earlier_speed_figures(out, dataset)
    rows = ["baseline", *[row for row in rows if row != "baseline"]]
    baseline_in_run = None
    for row in rows:
        model = trained_model(dataset, row)
        model_dir = model.parent
        model_dir.parent.mkdir(parents=True, exist_ok=True)
        config_path = model_dir.parent / "speed.cfg"
        config_path.write_text(row_text(row, sources))
        train_batch = int(row_config(row, sources)["training"]["batcher"]["size"])
        steps = math.ceil(docs / train_batch)
        train = subprocess.run(
            _experiments_command("training", layout.corpus(dataset) / "train.spacy", "--child", "span_relation",
                                 "--steps", steps, "--batch-size", train_batch, "--config", config_path),
            capture_output=True, text=True, check=True, cwd=layout.ROOT,
        )
        train_fig = json.loads(train.stdout.strip().splitlines()[-1])
        entry = {"seconds_per_step": train_fig["seconds_per_step"], "seconds_per_epoch": train_fig["seconds_per_epoch"],
                 "train_batch_size": train_batch, "train_steps": steps, "machine": machine(),
                 "measured": time.strftime("%Y-%m-%d")}
        if model.exists():
            entry["model"] = str(model.relative_to(layout.ROOT))
            entry["inference_batch_size"] = batch_size
            inf_out = model_dir.parent / "inference.json"
            subprocess.run(
                _experiments_command("inference-model", model, layout.corpus(dataset) / "dev.spacy", "--out", inf_out,
                                     "--no-scaling", "--batch-size", batch_size),
                check=True, capture_output=True, text=True, cwd=layout.ROOT,
            )
            inference = json.loads(inf_out.read_text())["inference"]
            entry["inference_docs_per_s"] = inference["full_docs_per_s"]
            entry["encoder_only_docs_per_s"] = inference["encoder_only_docs_per_s"]
        if row == "baseline":
            baseline_in_run = {k: entry[k] for k in BASELINE_SPEED_KEYS if k in entry}
        entry["baseline_in_run"] = baseline_in_run
        figures["rows"][row] = entry
        print(f"[speed {dataset} {row}] {entry}", flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(figures, indent=1, sort_keys=True))  # after every row: a long run can stop
    return figures
