"""int8 against float32 inference of one trained pipeline: docs/s, peak RSS and dev F1.

Each variant runs in its own fresh process (so that peak RSS is the variant's own), the
variants alternating for ``rounds`` rounds so that a change in machine load hits both;
speed is the best of each process's timed passes. Writes bench/quantization/<dataset>.json
and .md.
"""
import json
from pathlib import Path
from statistics import median

from .machine import machine
from .process import in_fresh_process, peak_rss_mib

VARIANTS = ("float32", "int8", "int8_per_channel")


def child(model: str, dev: str, variant: str, batch_size: int, threads: int, repeats: int) -> dict:
    """One variant in this process: load (quantize), score dev, time dev, report RSS."""
    import time

    import spacy
    import torch
    from spacy.training import Corpus

    import spacy_jere  # noqa: F401

    torch.set_num_threads(threads)
    nlp = spacy.load(model)
    if variant.startswith("int8"):
        from spacy_jere.quantization import quantize_pipeline

        quantize_pipeline(nlp, "per_channel" if variant == "int8_per_channel" else "per_tensor")
    examples = list(Corpus(dev)(nlp))
    scores = nlp.evaluate(examples, batch_size=batch_size)
    texts = [eg.reference.text for eg in examples]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in nlp.pipe(texts, batch_size=batch_size):
            pass
        best = min(best, time.perf_counter() - start)
    return {
        "variant": variant, "docs": len(texts), "docs_per_s": len(texts) / best,
        "peak_rss_mib": peak_rss_mib(),
        "ent_f": scores["ent_f"], "rel_strict_f": scores["rel_strict_f"],
    }


def measure(model: str, dev: Path, dataset: str, out: Path, command: str, *, batch_size: int = 8,
            threads: int = 1, repeats: int = 2, rounds: int = 2) -> dict:
    runs = []
    for round_ in range(rounds):
        for variant in VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]:
            runs.append(in_fresh_process("spacy_jere.experiments.quantization", "child", str(model), str(dev),
                                         variant, batch_size, threads, repeats,
                                         what=f"quantization benchmark, {variant}"))
            print(runs[-1], flush=True)
    summary = {}
    for variant in VARIANTS:
        mine = [run for run in runs if run["variant"] == variant]
        summary[variant] = {
            "docs_per_s": median(run["docs_per_s"] for run in mine),
            "peak_rss_mib": median(run["peak_rss_mib"] for run in mine),
            "ent_f": mine[0]["ent_f"], "rel_strict_f": mine[0]["rel_strict_f"],
        }
    results = {
        "command": command, "machine": {**machine(), "torch_threads": threads}, "model": model, "data": str(dev),
        "batch_size": batch_size, "rounds": rounds, "runs": runs, "summary": summary,
        "against_float32": {variant: {
            "speedup": summary[variant]["docs_per_s"] / summary["float32"]["docs_per_s"],
            "ent_f_change": 100 * (summary[variant]["ent_f"] - summary["float32"]["ent_f"]),
            "rel_strict_f_change": 100 * (summary[variant]["rel_strict_f"] - summary["float32"]["rel_strict_f"]),
        } for variant in VARIANTS if variant != "float32"},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf8")
    out.with_suffix(".md").write_text(markdown(results, dataset), encoding="utf8")
    return results


def markdown(results: dict, dataset: str) -> str:
    m = results["machine"]
    lines = [
        f"# int8 dynamic quantization of the transformer: {dataset} dev", "",
        f"`{results['command']}` (model `{results['model']}`; {m['cpu']}, {m['cores']} cores, "
        f"{m['torch_threads']} torch thread(s), batch {results['batch_size']}). Each variant in a fresh process, "
        f"alternating, {results['rounds']} rounds; docs/s and peak RSS: the median over rounds (each the best "
        "of its timed passes over dev); F1: micro, the pipeline's own decoding.", "",
        "| variant | docs/s | peak RSS (MiB) | entity F1 | rel_strict F1 |", "| --- | --- | --- | --- | --- |",
    ]
    for variant, s in results["summary"].items():
        lines.append(f"| {variant} | {s['docs_per_s']:.1f} | {s['peak_rss_mib']:.0f} | {100 * s['ent_f']:.2f} | "
                     f"{100 * s['rel_strict_f']:.2f} |")
    lines.append("")
    for variant, change in results["against_float32"].items():
        lines.append(f"- {variant} / float32 speed: {change['speedup']:.2f}x; F1 change: entity "
                     f"{change['ent_f_change']:+.2f}, rel_strict {change['rel_strict_f_change']:+.2f} points.")
    lines.append("")
    return "\n".join(lines)
