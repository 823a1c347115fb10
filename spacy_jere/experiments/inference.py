"""Inference speed, scaling and memory of a trained pipeline, measured side by side
with the same pipeline minus the span_relation component (encoder only). Writes JSON
with the machine, versions, figures and ratios; prints Markdown tables.
"""
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from . import layout
from .machine import machine


def time_pipe(nlp, texts, batch_size, disable=(), repeats=3) -> float:
    """Best-of-N wall time to annotate all texts."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        with nlp.select_pipes(disable=list(disable)):
            for _ in nlp.pipe(texts, batch_size=batch_size):
                pass
        best = min(best, time.perf_counter() - start)
    return best


def joined_docs(sentences, target_words, n_docs):
    """Docs of about target_words words, built by joining consecutive sentences."""
    docs, current, i = [], [], 0
    while len(docs) < n_docs:
        current.append(sentences[i % len(sentences)])
        i += 1
        if sum(len(s.split()) for s in current) >= target_words:
            docs.append(" ".join(current))
            current = []
    return docs


def measure(
    model: str, dev: Path, batch_size: int = 8, repeats: int = 3, scaling: bool = True, gpu_id: int = -1
) -> dict:
    import spacy
    import torch
    from spacy.tokens import DocBin

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    texts = [doc.text for doc in DocBin().from_disk(dev).get_docs(nlp.vocab)]
    n_words = sum(len(t.split()) for t in texts)
    time_pipe(nlp, texts[:16], batch_size, repeats=1)  # warm-up
    full = time_pipe(nlp, texts, batch_size, repeats=repeats)
    encoder = time_pipe(nlp, texts, batch_size, disable=["span_relation"], repeats=repeats)
    results = {
        "machine": {**machine(), "torch_threads": torch.get_num_threads()},
        "model": str(model),
        "data": str(dev),
        "batch_size": batch_size,
        "gpu_id": gpu_id,
        "docs": len(texts),
        "words": n_words,
        "inference": {
            "full_docs_per_s": len(texts) / full,
            "full_words_per_s": n_words / full,
            "encoder_only_docs_per_s": len(texts) / encoder,
            "encoder_only_words_per_s": n_words / encoder,
            "time_ratio_full_over_encoder": full / encoder,
        },
        "scaling": [],
    }
    for target in (25, 100, 400, 1600) if scaling else ():
        docs = joined_docs(texts, target, n_docs=max(4, 3200 // target))
        words = sum(len(d.split()) for d in docs)
        t_full = time_pipe(nlp, docs, batch_size, repeats=repeats)
        t_enc = time_pipe(nlp, docs, batch_size, disable=["span_relation"], repeats=repeats)
        results["scaling"].append({
            "target_words": target,
            "docs": len(docs),
            "mean_words": words / len(docs),
            "full_ms_per_doc": 1000 * t_full / len(docs),
            "encoder_only_ms_per_doc": 1000 * t_enc / len(docs),
            "head_ms_per_doc": 1000 * (t_full - t_enc) / len(docs),
            "head_ms_per_1000_words": 1000 * (t_full - t_enc) / words * 1000,
        })
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def write(results: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    inf = results["inference"]
    print("| pipeline | docs/s | words/s |\n| --- | --- | --- |")
    print(f"| full | {inf['full_docs_per_s']:.1f} | {inf['full_words_per_s']:.0f} |")
    print(f"| encoder only | {inf['encoder_only_docs_per_s']:.1f} | {inf['encoder_only_words_per_s']:.0f} |")
    print(f"\nfull / encoder-only time: {inf['time_ratio_full_over_encoder']:.3f}\n")
    print("| words/doc | full ms/doc | encoder ms/doc | head ms/doc | head ms per 1k words |\n"
          "| --- | --- | --- | --- | --- |")
    for row in results["scaling"]:
        print(f"| {row['mean_words']:.0f} | {row['full_ms_per_doc']:.1f} | {row['encoder_only_ms_per_doc']:.1f} "
              f"| {row['head_ms_per_doc']:.1f} | {row['head_ms_per_1000_words']:.1f} |")
    print(f"\npeak RSS: {results['peak_rss_mib']:.0f} MiB; written to {out}")


def of_row(row: str, dataset: str, out: Path, gpu_id: int) -> None:
    """The figures of a trained model of the row, measured in a process of its own (its
    peak RSS is the model's)."""
    from .runner import trained_model

    model = trained_model(dataset, row)
    if not model.exists():
        raise SystemExit(f"no trained model of {row!r} on {dataset} under {layout.MODELS}: "
                         "run `python -m spacy_jere.experiments run` first")
    subprocess.run([sys.executable, "-m", "spacy_jere.experiments", "inference-model", str(model),
                    str(layout.corpus(dataset) / "dev.spacy"), "--out", str(out), "--gpu-id", str(gpu_id)],
                   check=True, cwd=layout.ROOT)
