"""Train and evaluate the rows of configs/experiments.yml; measure their speed.

  experiment.py run ROW [ROW ...] --dataset conll04 --seeds 0 1
      config -> `spacy train` -> `python -m spacy_jere evaluate` on dev, one result file
      per (dataset, row, seed) in bench/experiments/ (models in training/runs/, not committed).
      Runs whose result and model exist here are skipped, so an interrupted sweep
      resumes; on a fresh clone (committed results, no models) everything runs.
  experiment.py export ROW --out configs/NAME.cfg
      the row's full config as a standalone config for `spacy train`.
  experiment.py speed ROW [ROW ...] --dataset conll04
      one after the other in this run: training seconds per step at the row's own batch
      size (480 train sentences after 5 warm-up steps) and inference docs/s (batch 8) on
      dev of a trained model of each row; merged into bench/speed_<dataset>.json. The
      baseline is measured first in every run; each row keeps that run's baseline figures.

Results record the machine, library versions, the full config, seed and data split.
"""
import argparse
import copy
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import srsly

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "configs" / "experiments.yml"
RESULTS = ROOT / "bench" / "experiments"
MODELS = ROOT / "training" / "runs"


def machine() -> dict:
    from importlib.metadata import version

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        **{name.replace("-", "_"): version(name) for name in ("spacy", "spacy-transformers", "thinc", "torch")},
    }


def load_experiments() -> dict:
    return srsly.read_yaml(EXPERIMENTS)


def row_config(row: str, experiments: dict):
    """configs/<base>.cfg with the row's overrides, variables left uninterpolated."""
    from spacy.util import load_config

    if row not in experiments["rows"]:
        raise SystemExit(f"{EXPERIMENTS}: no row {row!r}; rows: {', '.join(experiments['rows'])}")
    spec = experiments["rows"][row]
    config = load_config(ROOT / "configs" / f"{spec['base']}.cfg", interpolate=False)
    for dotted, value in (spec.get("overrides") or {}).items():
        *path, last = dotted.split(".")
        node = config
        for key in path:
            if key not in node:
                raise SystemExit(f"{EXPERIMENTS}: row {row!r}, override {dotted!r}: no section {key!r}")
            node = node[key]
        node[last] = copy.deepcopy(value)
    return config


def evaluate(model_dir: Path, corpus: Path, gpu_id: int, env=None) -> dict:
    """Dev scores of model-last with either entity decoding (a decoding choice: same
    weights), keyed by the entity_overlap setting."""
    metrics = {}
    for overlap in ("allow", "flat"):
        path = model_dir / f"dev_metrics_{overlap}.json"
        cmd = [sys.executable, "-m", "spacy_jere", "evaluate", str(model_dir / "model-last"),
               str(corpus / "dev.spacy"), "--output", str(path), "--gpu-id", str(gpu_id), "--entity-overlap", overlap]
        subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
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
    corpus = ROOT / "corpus" / dataset
    if not (corpus / "train.spacy").exists() or not (corpus / "dev.spacy").exists():
        raise SystemExit(f"{corpus}: no train.spacy / dev.spacy; convert the dataset first "
                         f"(`spacy project run convert --vars.dataset {dataset}`)")
    return corpus


def run_paths(dataset: str, row: str, seed: int):
    return RESULTS / dataset / row / f"seed{seed}.json", MODELS / dataset / row / f"seed{seed}"


def train_and_evaluate(row: str, dataset: str, seed: int, experiments: dict, gpu_id: int, threads: int) -> dict:
    result_path, model_dir = run_paths(dataset, row, seed)
    config = row_config(row, experiments)
    corpus = corpus_dir(dataset)
    schedule = run_schedule(config, corpus / "train.spacy")
    model_dir.mkdir(parents=True, exist_ok=True)
    config_path = model_dir / "config.cfg"
    config.to_disk(config_path)
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
        proc = subprocess.Popen(train_cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
    train_seconds = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"training failed; see {model_dir / 'train.log'}")
    train_rss = usage.ru_maxrss / 1024
    metrics = evaluate(model_dir, corpus, gpu_id, env)
    overlap = config["components"]["span_relation"].get("entity_overlap", "allow")
    config_text = config_path.read_text()
    result = {
        "row": row,
        "paper": experiments["rows"][row]["paper"],
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
        "command": " ".join(train_cmd[1:]).replace(str(ROOT) + "/", ""),
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


def trained_model(dataset: str, row: str) -> Path:
    """The model of the row's finished run of lowest seed (speed hardly depends on the
    weights); spacy train also writes model-last while it runs, so the run's result
    file is what says it finished."""
    for result in sorted((RESULTS / dataset / row).glob("seed*.json")):
        model = MODELS / dataset / row / result.stem / "model-last"
        if model.exists():
            return model
    return MODELS / dataset / row / "seed0" / "model-last"


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


def measure_speed(rows, dataset: str, experiments: dict, out: Path, docs: int, batch_size: int) -> dict:
    """Each row's training step time (at the row's own batch size, over about `docs`
    train sentences) and inference rate (at `batch_size`), measured one after the other,
    each in its own subprocess. Rows measured earlier stay in `out`, each with its own
    machine and date: a row can be re-measured alone.

    The baseline is measured first in every run and its figures are stored in each
    row's entry (`baseline_in_run`): a row is compared with the baseline measured beside
    it, not with whichever baseline figure is newest (the machine drifts between runs)."""
    import math

    figures = earlier_speed_figures(out, dataset)
    rows = ["baseline", *[row for row in rows if row != "baseline"]]
    baseline_in_run = None
    for row in rows:
        model = trained_model(dataset, row)
        model_dir = model.parent
        model_dir.parent.mkdir(parents=True, exist_ok=True)
        config_path = model_dir.parent / "speed.cfg"
        config = row_config(row, experiments)
        config.to_disk(config_path)
        train_batch = int(config["training"]["batcher"]["size"])
        steps = math.ceil(docs / train_batch)
        train = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "bench_training.py"), str(ROOT / "corpus" / dataset / "train.spacy"),
             "--child", "span_relation", "--steps", str(steps), "--batch-size", str(train_batch), "--config", str(config_path)],
            capture_output=True, text=True, check=True,
        )
        train_fig = json.loads(train.stdout.strip().splitlines()[-1])
        entry = {"seconds_per_step": train_fig["seconds_per_step"], "seconds_per_epoch": train_fig["seconds_per_epoch"],
                 "train_batch_size": train_batch, "train_steps": steps, "machine": machine(),
                 "measured": time.strftime("%Y-%m-%d")}
        if model.exists():
            entry["model"] = str(model.relative_to(ROOT))
            entry["inference_batch_size"] = batch_size
            inf_out = model_dir.parent / "inference.json"
            subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "bench_inference.py"), str(model),
                 str(ROOT / "corpus" / dataset / "dev.spacy"), "--out", str(inf_out), "--no-scaling",
                 "--batch-size", str(batch_size)],
                check=True, capture_output=True, text=True,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("rows", nargs="+")
    run.add_argument("--dataset", default="conll04")
    run.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    run.add_argument("--gpu-id", type=int, default=-1)
    run.add_argument("--threads", type=int, default=0, help="torch/OpenMP threads per training (0: default)")
    run.add_argument("--force", action="store_true", help="re-run runs that have a result")
    speed = sub.add_parser("speed")
    speed.add_argument("rows", nargs="+")
    speed.add_argument("--dataset", default="conll04")
    speed.add_argument("--docs", type=int, default=480,
                       help="train sentences timed per row (60 steps at batch 8), at the row's own batch size")
    speed.add_argument("--batch-size", type=int, default=8, help="inference batch size")
    speed.add_argument("--out", type=Path, default=ROOT / "bench" / "speed_conll04.json")
    rescore = sub.add_parser("rescore", help="re-evaluate the saved models of finished runs (both entity decodings)")
    rescore.add_argument("rows", nargs="+")
    rescore.add_argument("--dataset", default="conll04")
    rescore.add_argument("--gpu-id", type=int, default=-1)
    inference = sub.add_parser("inference", help="scripts/bench_inference.py on a trained model of ROW")
    inference.add_argument("row")
    inference.add_argument("--dataset", default="conll04")
    inference.add_argument("--out", type=Path, required=True)
    inference.add_argument("--gpu-id", type=int, default=-1)
    export = sub.add_parser("export", help="write a row's config for spacy train")
    export.add_argument("row")
    export.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    experiments = load_experiments()
    if args.command == "export":
        config = row_config(args.row, experiments)
        spec = experiments["rows"][args.row]
        header = (f"# Generated by `scripts/experiment.py export {args.row}`: row {args.row!r}\n"
                  f"# ({spec['paper']}) of configs/experiments.yml, i.e. configs/{spec['base']}.cfg with the row's\n"
                  f"# settings. Edit the row, not this file.\n")
        args.out.write_text(header + config.to_str())
        print(f"wrote {args.out}")
        return
    if args.command == "rescore":
        rows = list(experiments["rows"]) if args.rows == ["all"] else args.rows
        for row in rows:
            for result_path in sorted((RESULTS / args.dataset / row).glob("seed*.json")):
                model_dir = MODELS / args.dataset / row / result_path.stem
                if not (model_dir / "model-last").exists():
                    print(f"[{args.dataset} {row} {result_path.stem}] no saved model: kept as it is")
                    continue
                result = json.loads(result_path.read_text())
                metrics = evaluate(model_dir, ROOT / "corpus" / args.dataset, args.gpu_id)
                result["metrics_by_entity_overlap"] = metrics
                result["entity_overlap"] = result.get("entity_overlap", "allow")
                result["metrics"] = metrics[result["entity_overlap"]]
                result_path.write_text(json.dumps(result, indent=1, sort_keys=True))
                print(f"[{args.dataset} {row} {result_path.stem}] " + "; ".join(
                    f"{k}: ent F1 {100 * m['ent_f']:.2f} rel_strict F1 {100 * m['rel_strict_f']:.2f}" for k, m in metrics.items()))
        return
    if args.command == "inference":
        model = trained_model(args.dataset, args.row)
        if not model.exists():
            raise SystemExit(f"no trained model of {args.row!r} on {args.dataset} under {MODELS}: run `experiment.py run` first")
        subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_inference.py"), str(model),
                        str(ROOT / "corpus" / args.dataset / "dev.spacy"), "--out", str(args.out),
                        "--gpu-id", str(args.gpu_id)], check=True)
        return
    if args.command == "run":
        corpus_dir(args.dataset)
        rows = list(experiments["rows"]) if args.rows == ["all"] else args.rows
        for row in rows:
            for seed in args.seeds:
                result_path, model_dir = run_paths(args.dataset, row, seed)
                # Done = result and model here: a fresh clone has the committed results
                # but no models, so its runs are its own.
                if result_path.exists() and (model_dir / "model-last").exists() and not args.force:
                    print(f"[{args.dataset} {row} seed {seed}] done: {result_path}")
                    continue
                train_and_evaluate(row, args.dataset, seed, experiments, args.gpu_id, args.threads)
    else:
        rows = list(experiments["rows"]) if args.rows == ["all"] else args.rows
        measure_speed(rows, args.dataset, experiments, args.out, args.docs, args.batch_size)


if __name__ == "__main__":
    main()
