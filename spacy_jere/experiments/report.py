"""The benchmark report: bench/README.md (generated Markdown) and bench/results.json,
from the results in bench/ (layout in layout.py). Only what was measured is shown; a
missing figure is a dash.
"""
import json
import statistics
from pathlib import Path
from typing import Optional

import srsly

from . import layout
from .configs import EXPERIMENTS

COMMAND = "python -m spacy_jere.experiments report"


def pct(x):
    return None if x is None else 100 * x


def summary(values):
    """mean, min, max (None when empty)."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values), "n": len(values)}


def fmt(stat, digits=2, spread=True):
    if stat is None:
        return "-"
    text = f"{stat['mean']:.{digits}f}"
    if spread and stat["n"] > 1:
        text += f" ({stat['min']:.{digits}f}-{stat['max']:.{digits}f})"
    return text


def load_runs(bench: Path = layout.BENCH):
    runs = {}
    for path in layout.accuracy_results(bench):
        run = json.loads(path.read_text())
        runs.setdefault(run["dataset"], {}).setdefault(run["row"], []).append(run)
    return runs


METRICS = [f"{p}_{k}" for p in ("ent", "rel", "rel_strict") for k in ("p", "r", "f", "macro_f")]


def scores_with(run, overlap):
    """A run's dev scores with the given entity decoding; runs scored before flat
    decoding existed have SpERT's ("allow") only."""
    if "metrics_by_entity_overlap" in run:
        return run["metrics_by_entity_overlap"].get(overlap)
    return run["metrics"] if overlap == "allow" else None


def aggregate(runs):
    out = {}
    for dataset, rows in runs.items():
        for row, row_runs in rows.items():
            entry = {
                "paper": row_runs[0]["paper"],
                "seeds": sorted(r["seed"] for r in row_runs),
                "max_epochs": sorted({r["max_epochs"] for r in row_runs}),
                "train_seconds": summary([r.get("train_seconds") for r in row_runs]),
                "train_peak_rss_mib": summary([r.get("train_peak_rss_mib") for r in row_runs]),
                "metrics": {m: summary([pct(r["metrics"].get(m)) for r in row_runs]) for m in METRICS},
                "by_entity_overlap": {},
                "per_type": {},
            }
            for overlap in ("allow", "flat"):
                scored = [m for m in (scores_with(r, overlap) for r in row_runs) if m is not None]
                entry["by_entity_overlap"][overlap] = {
                    "n": len(scored), **{m: summary([pct(x.get(m)) for x in scored]) for m in METRICS}}
            # Per type with flat decoding where every run has it (the configs' setting), so
            # seeds scored with different decodings are never averaged together.
            decoding = "flat" if all(scores_with(r, "flat") is not None for r in row_runs) else "allow"
            typed = [scores_with(r, decoding) for r in row_runs]
            entry["per_type_decoding"] = decoding
            for table in ("ent_per_type", "rel_strict_per_type"):
                labels = sorted({label for m in typed for label in (m.get(table) or {})})
                entry["per_type"][table] = {
                    label: summary([pct((m.get(table) or {}).get(label, {}).get("f")) for m in typed])
                    for label in labels
                }
            out.setdefault(dataset, {})[row] = entry
    return out


def load_json(path):
    return json.loads(path.read_text()) if path.exists() else None


# Rows of the accuracy tables: cpu.cfg, SpERT's recipe (issue 3's protocol) without and
# with SpERT's optimizer and relation loss, and cpu.cfg with those two.
ACCURACY_ROWS = ("baseline", "spert_recipe", "spert_adamw", "adamw")


def prf(m, prefix):
    """P / R / F1 of a metric group, the spread (min-max over seeds) on F1 only."""
    return " / ".join(fmt(m[f"{prefix}_{k}"], spread=False) for k in "pr") + " / " + fmt(m[f"{prefix}_f"])


def accuracy_table(results, rows=ACCURACY_ROWS):
    lines = [
        "| dataset (train -> dev) | config | entity decoding | seeds | entity P / R / F1 | rel P / R / F1 "
        "| rel_strict P / R / F1 | macro F1 ent / rel / rel_strict | training s | training peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for dataset, by_row in sorted(results.items()):
        for row in rows:
            if row not in by_row:
                continue
            e = by_row[row]
            for overlap, m in e["by_entity_overlap"].items():
                if not m["n"]:
                    continue
                macro = " / ".join(fmt(m[f"{p}_macro_f"], spread=False) for p in ("ent", "rel", "rel_strict"))
                lines.append(
                    f"| {dataset} | {row} | {overlap} | {m['n']} | {prf(m, 'ent')} | {prf(m, 'rel')} "
                    f"| {prf(m, 'rel_strict')} | {macro} | {fmt(e['train_seconds'], 0)} "
                    f"| {fmt(e['train_peak_rss_mib'], 0, spread=False)} |"
                )
    return "\n".join(lines)


def per_type_table(results, rows=ACCURACY_ROWS):
    lines = ["| dataset | config | entity decoding | type | F1 (mean over seeds) |", "| --- | --- | --- | --- | --- |"]
    for dataset, by_row in sorted(results.items()):
        for row in [r for r in rows if r in by_row]:
            for table, stats in by_row[row]["per_type"].items():
                kind = "entity" if table.startswith("ent") else "rel_strict"
                for label, stat in stats.items():
                    decoding = by_row[row]["per_type_decoding"]
                    lines.append(f"| {dataset} | {row} | {decoding} | {kind} {label} | {fmt(stat)} |")
    return "\n".join(lines)


def inference_time_vs_baseline(entry):
    """A row's inference time over the baseline's measured in the same speed run, each
    first divided by its own encoder-only time (the encoder is the same), so that what
    the machine's drift leaves cancels too; None if that run measured no baseline."""
    base = entry.get("baseline_in_run") or {}
    if not base.get("inference_docs_per_s") or "inference_docs_per_s" not in entry:
        return None
    rel = entry["encoder_only_docs_per_s"] / entry["inference_docs_per_s"]
    return rel / (base["encoder_only_docs_per_s"] / base["inference_docs_per_s"])


# Rows on the fast.cfg recipe are compared with the row fast.cfg is generated from.
FAST_BASELINE = "adamw_12_epochs"


def ablation_table(results, speed, row_order, row_bases=None):
    """One line per row and entity decoding: micro F1 (mean over seeds, min-max), macro
    F1, the rel_strict change against the row's baseline with the same decoding
    (``baseline``, or ``adamw_12_epochs`` for rows on the fast recipe), and the row's
    speed (the same on both lines: decoding does not change it measurably)."""
    row_bases = row_bases or {}
    lines = [
        "| dataset | row | entity decoding | seeds | entity F1 | rel F1 | rel_strict F1 "
        "| macro F1 ent / rel / rel_strict | rel_strict vs baseline (fast recipe: vs adamw_12_epochs) "
        "| training s/epoch | inference docs/s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for dataset, rows in sorted(results.items()):
        sp = (speed.get(dataset) or {}).get("rows", {})
        for row in [r for r in row_order if r in rows]:
            base_row = FAST_BASELINE if row_bases.get(row) == "fast" else "baseline"
            base = rows.get(base_row)
            e = rows[row]
            s = sp.get(row) or {}
            rate = s.get("inference_docs_per_s")
            rate_text = "-"
            if rate is not None:
                rel = s["encoder_only_docs_per_s"] / rate
                vs_base = inference_time_vs_baseline(s)
                rate_text = f"{rate:.1f} (full / encoder-only time {rel:.2f}; " + (
                    f"vs baseline {vs_base:.2f}x)" if vs_base else "no baseline in its speed run)")
            epoch = "-" if "seconds_per_epoch" not in s else f"{s['seconds_per_epoch']:.0f}"
            for overlap in ("allow", "flat"):
                m = e["by_entity_overlap"][overlap]
                if not m["n"]:
                    continue
                b = base["by_entity_overlap"][overlap] if base else None
                delta = "-"
                if row != base_row and b and b["n"]:
                    delta = f"{m['rel_strict_f']['mean'] - b['rel_strict_f']['mean']:+.2f}"
                macro = " / ".join(fmt(m[f"{p}_macro_f"], spread=False) for p in ("ent", "rel", "rel_strict"))
                lines.append(
                    f"| {dataset} | {row} ({e['paper']}) | {overlap} | {m['n']} "
                    f"| {fmt(m['ent_f'])} | {fmt(m['rel_f'])} "
                    f"| {fmt(m['rel_strict_f'])} | {macro} | {delta} | {epoch} | {rate_text} |"
                )
    return "\n".join(lines)


# Issue 3's reference: the public SpERT implementation, run by the team on this machine
# with the bundled encoder and SpERT's recipe on CoNLL04 train -> dev (one seed).
SPERT_CONLL04 = {"ent_f": 81.65, "rel_strict_f": 57.91, "train_seconds": 1844}
FAST_RECIPE_TIME_SHARE = 0.8


def fast_recipe_table(results, speed, row_order):
    """Every CoNLL04 row against SpERT's dev accuracy, with its training time estimated
    as s/epoch (measured alone, `speed`) x epochs: the runs' own wall
    times are not comparable when they shared the CPU."""
    rows = results.get("conll04") or {}
    sp = ((speed.get("conll04") or {}).get("rows")) or {}
    budget = FAST_RECIPE_TIME_SHARE * SPERT_CONLL04["train_seconds"]
    lines = [
        f"| row | decoding | seeds | entity F1 (>= {SPERT_CONLL04['ent_f']}) "
        f"| rel_strict F1 (>= {SPERT_CONLL04['rel_strict_f']}) "
        f"| both reached (mean) | epochs | est. training s (<= {budget:.0f}) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in [r for r in row_order if r in rows]:
        e = rows[row]
        epochs = e["max_epochs"][0] if len(e["max_epochs"]) == 1 else None
        per_epoch = (sp.get(row) or {}).get("seconds_per_epoch")
        estimate = "-" if per_epoch is None or epochs is None else f"{per_epoch * epochs:.0f}"
        for overlap in ("allow", "flat"):
            m = e["by_entity_overlap"][overlap]
            if not m["n"]:
                continue
            reached = (m["ent_f"]["mean"] >= SPERT_CONLL04["ent_f"]
                       and m["rel_strict_f"]["mean"] >= SPERT_CONLL04["rel_strict_f"])
            lines.append(f"| {row} | {overlap} | {m['n']} | {fmt(m['ent_f'])} | {fmt(m['rel_strict_f'])} "
                         f"| {'yes' if reached else 'no'} | {epochs or '-'} | {estimate} |")
    return "\n".join(lines)


def other_inference_lines(runs) -> list:
    """Inference figures of other models or batch sizes (bench/inference/conll04/*.json)."""
    lines = []
    for name, fig in runs.items():
        inf = fig["inference"]
        model = Path(fig["model"])
        model = model.relative_to(layout.ROOT) if model.is_absolute() and layout.ROOT in model.parents else model
        lines.append(
            f"- `{name}` (`{model}`, batch {fig['batch_size']}, {fig['docs']} docs, best of 3): full pipeline "
            f"{inf['full_docs_per_s']:.1f} docs/s, encoder only {inf['encoder_only_docs_per_s']:.1f} docs/s, "
            f"time ratio {inf['time_ratio_full_over_encoder']:.2f}; peak RSS {fig['peak_rss_mib']:.0f} MiB.")
    return lines + ([""] if lines else [])


def speed_section(inference, training, other_inference=None):
    lines = []
    if inference:
        inf = inference["inference"]
        lines += [
            f"Inference on CoNLL04 dev ({inference['docs']} docs, batch {inference['batch_size']}, best of 3, "
            "same run): "
            f"full pipeline {inf['full_docs_per_s']:.1f} docs/s ({inf['full_words_per_s']:.0f} words/s), "
            f"encoder only {inf['encoder_only_docs_per_s']:.1f} docs/s "
            f"({inf['encoder_only_words_per_s']:.0f} words/s): "
            f"time ratio **{inf['time_ratio_full_over_encoder']:.2f}** (target <= 1.15). "
            f"Peak RSS of the inference process {inference['peak_rss_mib']:.0f} MiB.",
            "",
        ]
        if inference.get("scaling"):
            lines += ["| words/doc | full ms/doc | encoder ms/doc | our head ms/doc | head ms per 1k words |",
                      "| --- | --- | --- | --- | --- |"]
            for r in inference["scaling"]:
                lines.append(f"| {r['mean_words']:.0f} | {r['full_ms_per_doc']:.1f} "
                             f"| {r['encoder_only_ms_per_doc']:.1f} | {r['head_ms_per_doc']:.1f} "
                             f"| {r['head_ms_per_1000_words']:.1f} |")
            lines.append("")
    lines += other_inference_lines(other_inference or {})
    if training:
        best = training["best_seconds_per_step"]
        lines += [
            f"Training cost (CoNLL04 train, batch {training['batch_size']}, {training['runs'][0]['steps']} steps "
            f"after 5 warm-up, best of 2 interleaved runs each): {best['span_relation']:.3f} s/step with our head vs "
            f"{best['tagger']:.3f} s/step with a tagger on the same listener: ratio "
            f"**{training['ratio_span_relation_over_tagger']:.2f}** (target <= 1.3). Peak RSS "
            f"{max(r['peak_rss_mib'] for r in training['runs'] if r['head'] == 'span_relation'):.0f} MiB (ours) vs "
            f"{max(r['peak_rss_mib'] for r in training['runs'] if r['head'] == 'tagger'):.0f} MiB (tagger).",
            "",
        ]
    return "\n".join(lines)


def drift_note(speed) -> str:
    rates = [r["encoder_only_docs_per_s"] for fig in speed.values() if fig for r in fig["rows"].values()
             if "encoder_only_docs_per_s" in r]
    if len(rates) < 2:
        return "no drift estimate."
    return (f"the encoder-only rate, the same computation for every row, ranged {min(rates):.1f}-{max(rates):.1f} "
            f"docs/s across the rows ({100 * (max(rates) / min(rates) - 1):.0f}% drift), so differences in s/epoch "
            "or docs/s below that are noise; the inference ratio to the baseline divides that drift out.")


def gather(bench: Path = layout.BENCH) -> dict:
    """Everything the report shows (bench/results.json)."""
    runs = load_runs(bench)
    speed = {p.stem: load_json(p) for p in sorted((bench / "speed").glob("*.json"))}
    inference_path = layout.inference_file("conll04", "baseline", bench)
    other_inference = {
        p.stem: load_json(p) for p in sorted(inference_path.parent.glob("*.json")) if p != inference_path
    }
    machines = sorted(
        {json.dumps(r["machine"], sort_keys=True) for rows in runs.values() for rs in rows.values() for r in rs}
    )
    return {"accuracy": aggregate(runs), "speed": speed, "inference": load_json(inference_path),
            "training": load_json(layout.training_cost_file("conll04", bench)), "other_inference": other_inference,
            "machines": [json.loads(m) for m in machines]}


def markdown(everything: dict, row_order: list, row_bases: Optional[dict] = None) -> str:
    results, speed = everything["accuracy"], everything["speed"]
    machine_lines = [
        f"- {m['cpu']}, {m['cores']} cores, GPU: {m['gpu'] or 'none'}; Python {m['python']}, spaCy {m['spacy']}, "
        f"spacy-transformers {m['spacy_transformers']}, thinc {m['thinc']}, torch {m['torch']}"
        for m in everything["machines"] if "thinc" in m
    ]
    md = [
        f"<!-- Generated by `{COMMAND}` from the results in bench/: do not edit, rerun the command. -->",
        "",
        "# Benchmark results",
        "",
        f"Figures from `spacy project run bench` / `spacy project run ablation` (`python -m spacy_jere.experiments "
        f"run` and `speed`, then `{COMMAND}`), also in `bench/results.json`. Results, one JSON file each, with "
        "the command, machine, library versions and (runs) the full config and seed:",
        "",
        "- `bench/accuracy/<dataset>/<row>/seed<N>.json`: one training and dev evaluation of a row of "
        "`configs/experiments.yml` (`run`)",
        "- `bench/speed/<dataset>.json`: each row's training s/epoch and inference docs/s (`speed`)",
        "- `bench/inference/<dataset>/<name>.json`: inference speed, scaling and memory of one model "
        "(`inference`, `inference-model`)",
        "- `bench/training_cost/<dataset>.json`: training cost of our head vs a tagger (`training`)",
        "- `bench/attention/<name>.json`: micro-benchmarks of the attention layer (`attention`)",
        "- `bench/redesign/<dataset>_head_old_vs_new.json`: the head's inference time before and after the "
        "architecture redesign, same training (`scripts/bench_head_old_vs_new.py`)",
        "- `bench/dev_scores/<dataset>/<config>_seed<N>.json`: dev scores alone of early single runs of a "
        "shipped config",
        "",
        "Every run: train split -> dev split, 20 epochs (rows named `..._N_epochs`: N), the final "
        "model (`model-last`), batches of 8 sentences (`spert_*` rows: 2), the bundled MiniLM-L6 encoder on the CPU. "
        "Cells: mean over seeds (min-max).",
        "",
        "Machine(s):",
        *machine_lines,
        "",
        "## Accuracy (`baseline` = `configs/cpu.cfg`; `spert_recipe` = SpERT's own hyperparameters; "
        "`spert_adamw` = the same with SpERT's optimizer and relation loss; `adamw` = `configs/cpu.cfg` with "
        "SpERT's optimizer and relation loss)",
        "",
        "Training s is the wall time of each run as it ran (`train_seconds` in its JSON): runs with "
        "`threads = 1` were trained two or three at a time on the 2 cores, so they took up to about twice "
        "as long as a run alone; compare speed by the training s/epoch column of the ablation table.",
        "",
        accuracy_table(results),
        "",
        "<details><summary>Per type</summary>",
        "",
        per_type_table(results),
        "",
        "</details>",
        "",
        "## Ablation (configs/experiments.yml)",
        "",
        ablation_table(results, speed, row_order, row_bases),
        "",
        "Entity decoding: `allow` = SpERT's (every span classified as an entity is one; overlaps allowed), "
        "`flat` = `entity_overlap = \"flat\"` (of overlapping predicted entities the most confident is kept, "
        "before pairing); both are scores of the same trained weights. "
        "Training s/epoch and inference docs/s (CoNLL04 dev, batch 8) come from "
        "`python -m spacy_jere.experiments speed`, "
        "rows measured one after the other on an otherwise idle machine (training: about 480 train sentences "
        "after 5 warm-up steps, at the row's own batch size; inference best of 3); the accuracy runs themselves "
        "may have shared the CPU. Speed depends on the config, not on the training data, so it was measured "
        "on CoNLL04 only (dashes on the SciERC lines). Each speed run measures the baseline first; \"vs baseline\" "
        "divides a row's full / encoder-only time by the baseline's of the same run (rows measured before runs "
        "kept their baseline say so). These are single measurements: " + drift_note(speed),
        "",
        "## Issue 3's targets on CoNLL04 dev: SpERT's accuracy, and the fast recipe",
        "",
        f"SpERT (public implementation, this machine, same encoder and data, one seed): entity F1 "
        f"{SPERT_CONLL04['ent_f']}, rel_strict F1 {SPERT_CONLL04['rel_strict_f']}, {SPERT_CONLL04['train_seconds']} s "
        f"of training. A fast recipe must reach both F1 (mean over its seeds) in at most "
        f"{FAST_RECIPE_TIME_SHARE} x that time. Estimated training s = s/epoch from the speed run x epochs "
        "(training steps only; the 7 dev evaluations of a run add roughly 1-2 min).",
        "",
        fast_recipe_table(results, speed, row_order),
        "",
        "## Speed and memory (`configs/cpu.cfg`)",
        "",
        speed_section(everything["inference"], everything["training"], everything["other_inference"]),
    ]
    return "\n".join(md).rstrip() + "\n"


def write_report(bench: Path = layout.BENCH) -> tuple:
    """Write bench/README.md and bench/results.json; their paths."""
    everything = gather(bench)
    md_path, json_path = layout.report_files(bench)
    json_path.write_text(json.dumps(everything, indent=1, sort_keys=True))
    rows = srsly.read_yaml(EXPERIMENTS)["rows"]
    md_path.write_text(markdown(everything, list(rows), {name: spec.get("base") for name, spec in rows.items()}))
    return md_path, json_path
