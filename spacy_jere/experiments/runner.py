"""Accuracy runs of the rows of configs/experiments.yml: train, evaluate on dev, record.

One result per (dataset, row, seed) in bench/accuracy/ (models in training/runs/, not
committed), with the machine, library versions, the full config, seed and data split.
Runs whose result and model exist here are skipped, so an interrupted sweep resumes; on a
fresh clone (committed results, no models) everything runs.
"""
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from . import layout
from .configs import row_config, row_text
from .machine import machine

ENTITY_DECODINGS = ("allow", "flat")


def entity_overlap(config) -> str:
    """The entity decoding a config asks for (the head's setting; SpERT's by default)."""
    return config["components"]["span_relation"]["model"]["head"].get("entity_overlap", "allow")


def evaluate(model_dir: Path, corpus: Path, gpu_id: int, env=None) -> dict:
    """Dev scores of model-last with either entity decoding (a decoding choice: same
    weights), keyed by the entity_overlap setting."""
    metrics = {}
    for overlap in ENTITY_DECODINGS:
        path = model_dir / f"dev_metrics_{overlap}.json"
        cmd = [sys.executable, "-m", "spacy_jere", "evaluate", str(model_dir / "model-last"),
               str(corpus / "dev.spacy"), "--output", str(path), "--gpu-id", str(gpu_id), "--entity-overlap", overlap]
        subprocess.run(cmd, check=True, env=env, cwd=layout.ROOT, stdout=subprocess.DEVNULL)
        metrics[overlap] = json.loads(path.read_text())
    return metrics


def run_schedule(config, train_corpus: Path):
    """(warmup, total) steps of the row's learning-rate schedule on this corpus, for the
    record (spacy_jere.warmup_linear_epochs.v1 counts them itself when training)."""
    from spacy_jere.schedules import run_steps

    rate = config["training"]["optimizer"].get("learn_rate")
    if not isinstance(rate, dict) or rate.get("@schedules") != "spacy_jere.warmup_linear_epochs.v1":
        return None
    # The schedule's ${...} settings point here; read them at their source.
    training, reader = config["training"], config["corpora"]["train"]
    warmup, total = run_steps(
        train_corpus, int(training["batcher"]["size"]), int(training["max_epochs"]), int(training["max_steps"]),
        float(rate.get("warmup_fraction", 0.1)), int(rate.get("total_steps", 0)), int(reader.get("max_length", 0)),
        int(reader.get("limit", 0)), bool(reader.get("gold_preproc", False)),
    )
    return {"warmup_steps": warmup, "total_steps": total}


def corpus_dir(dataset: str) -> Path:
    corpus = layout.corpus(dataset)
    if not (corpus / "train.spacy").exists() or not (corpus / "dev.spacy").exists():
        raise SystemExit(f"{corpus}: no train.spacy / dev.spacy; convert the dataset first "
                         f"(`spacy project run convert --vars.dataset {dataset}`)")
    return corpus


def train_and_evaluate(row: str, dataset: str, seed: int, sources: dict, gpu_id: int, threads: int) -> dict:
    result_path = layout.accuracy_result(dataset, row, seed)
    model_dir = layout.run_model_dir(dataset, row, seed)
    config = row_config(row, sources)
    corpus = corpus_dir(dataset)
    schedule = run_schedule(config, corpus / "train.spacy")
    model_dir.mkdir(parents=True, exist_ok=True)
    config_path = model_dir / "config.cfg"
    config_path.write_text(row_text(row, sources))
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    train_cmd = [
        sys.executable, "-m", "spacy", "train", str(config_path), "--output", str(model_dir),
        "--paths.train", str(corpus / "train.spacy"), "--paths.dev", str(corpus / "dev.spacy"),
        "--system.seed", str(seed), "--gpu-id", str(gpu_id),
    ]
    print(f"[{dataset} {row} seed {seed}] training -> {model_dir}", flush=True)
    start = time.monotonic()
    with open(model_dir / "train.log", "w") as log:
        proc = subprocess.Popen(train_cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=layout.ROOT)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
    train_seconds = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"training failed; see {model_dir / 'train.log'}")
    train_rss = usage.ru_maxrss / 1024
    metrics = evaluate(model_dir, corpus, gpu_id, env)
    overlap = entity_overlap(config)
    config_text = config_path.read_text()
    result = {
        "row": row,
        "paper": sources["rows"][row]["paper"],
        "dataset": dataset,
        "train_split": f"{dataset}/train",
        "eval_split": f"{dataset}/dev",
        "model": "model-last",
        "seed": seed,
        "threads": threads or None,
        "train_seconds": round(train_seconds, 1),
        "train_peak_rss_mib": round(train_rss),
        "max_epochs": config["training"]["max_epochs"],
        "batch_size": config["training"]["batcher"].get("size"),
        "schedule": schedule,
        "config_sha1": hashlib.sha1(config_text.encode("utf8")).hexdigest(),
        "config": config_text,
        "command": " ".join(train_cmd[1:]).replace(str(layout.ROOT) + "/", ""),
        "machine": machine(),
        "entity_overlap": overlap,
        "metrics": metrics[overlap],
        "metrics_by_entity_overlap": metrics,
    }
    result_path.parent.mkdir(parents=True, exist_ok=True)
    result_path.write_text(json.dumps(result, indent=1, sort_keys=True))
    m = result["metrics"]
    print(f"[{dataset} {row} seed {seed}] {train_seconds:.0f} s; ent F1 {100 * m['ent_f']:.2f} "
          f"rel F1 {100 * m['rel_f']:.2f} rel_strict F1 {100 * m['rel_strict_f']:.2f} -> {result_path}", flush=True)
    return result


def run(rows: list, dataset: str, seeds: list, sources: dict, gpu_id: int, threads: int, force: bool) -> None:
    corpus_dir(dataset)
    for row in rows:
        for seed in seeds:
            result_path = layout.accuracy_result(dataset, row, seed)
            model_dir = layout.run_model_dir(dataset, row, seed)
            # Done = result and model here: a fresh clone has the committed results
            # but no models, so its runs are its own.
            if result_path.exists() and (model_dir / "model-last").exists() and not force:
                print(f"[{dataset} {row} seed {seed}] done: {result_path}")
                continue
            train_and_evaluate(row, dataset, seed, sources, gpu_id, threads)


def rescore(rows: list, dataset: str, gpu_id: int) -> None:
    """Re-evaluate the saved models of finished runs with both entity decodings."""
    for row in rows:
        for result_path in layout.accuracy_results(dataset=dataset, row=row):
            model_dir = layout.run_model_dir(dataset, row, int(result_path.stem[len("seed"):]))
            if not (model_dir / "model-last").exists():
                print(f"[{dataset} {row} {result_path.stem}] no saved model: kept as it is")
                continue
            result = json.loads(result_path.read_text())
            metrics = evaluate(model_dir, layout.corpus(dataset), gpu_id)
            result["metrics_by_entity_overlap"] = metrics
            result["entity_overlap"] = result.get("entity_overlap", "allow")
            result["metrics"] = metrics[result["entity_overlap"]]
            result_path.write_text(json.dumps(result, indent=1, sort_keys=True))
            print(f"[{dataset} {row} {result_path.stem}] " + "; ".join(
                f"{k}: ent F1 {100 * m['ent_f']:.2f} rel_strict F1 {100 * m['rel_strict_f']:.2f}"
                for k, m in metrics.items()))


def trained_model(dataset: str, row: str) -> Path:
    """The model of the row's finished run of lowest seed (speed hardly depends on the
    weights); spacy train also writes model-last while it runs, so the run's result
    file is what says it finished."""
    for result in layout.accuracy_results(dataset=dataset, row=row):
        model = layout.run_model_dir(dataset, row, int(result.stem[len("seed"):])) / "model-last"
        if model.exists():
            return model
    return layout.run_model_dir(dataset, row, 0) / "model-last"
