"""Inference speed, scaling and memory of a trained pipeline, measured side by side
with the same pipeline minus the span_relation component (encoder only).

Usage: bench_inference.py MODEL DEV.spacy --out bench/inference.json [--batch-size 8]
Writes JSON with the machine, versions, figures and ratios; prints a Markdown table.
"""
import argparse
import json
import resource
import time
from pathlib import Path

import spacy
import torch
from spacy.tokens import DocBin

from experiment import machine  # scripts/ is on sys.path when run as a script


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("dev", type=Path)
    parser.add_argument("--out", type=Path, default=Path("bench/inference.json"))
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-scaling", action="store_true", help="skip the doc-length scaling figures")
    parser.add_argument("--gpu-id", type=int, default=-1)
    args = parser.parse_args()
    if args.gpu_id >= 0:
        spacy.require_gpu(args.gpu_id)

    nlp = spacy.load(args.model)
    texts = [doc.text for doc in DocBin().from_disk(args.dev).get_docs(nlp.vocab)]
    n_words = sum(len(t.split()) for t in texts)
    time_pipe(nlp, texts[:16], args.batch_size, repeats=1)  # warm-up
    full = time_pipe(nlp, texts, args.batch_size, repeats=args.repeats)
    encoder = time_pipe(nlp, texts, args.batch_size, disable=["span_relation"], repeats=args.repeats)
    results = {
        "machine": {**machine(), "torch_threads": torch.get_num_threads()},
        "model": str(args.model),
        "data": str(args.dev),
        "batch_size": args.batch_size,
        "gpu_id": args.gpu_id,
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
    for target in () if args.no_scaling else (25, 100, 400, 1600):
        docs = joined_docs(texts, target, n_docs=max(4, 3200 // target))
        words = sum(len(d.split()) for d in docs)
        t_full = time_pipe(nlp, docs, args.batch_size, repeats=args.repeats)
        t_enc = time_pipe(nlp, docs, args.batch_size, disable=["span_relation"], repeats=args.repeats)
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    inf = results["inference"]
    print("| pipeline | docs/s | words/s |\n| --- | --- | --- |")
    print(f"| full | {inf['full_docs_per_s']:.1f} | {inf['full_words_per_s']:.0f} |")
    print(f"| encoder only | {inf['encoder_only_docs_per_s']:.1f} | {inf['encoder_only_words_per_s']:.0f} |")
    print(f"\nfull / encoder-only time: {inf['time_ratio_full_over_encoder']:.3f}\n")
    print("| words/doc | full ms/doc | encoder ms/doc | head ms/doc | head ms per 1k words |\n| --- | --- | --- | --- | --- |")
    for row in results["scaling"]:
        print(f"| {row['mean_words']:.0f} | {row['full_ms_per_doc']:.1f} | {row['encoder_only_ms_per_doc']:.1f} | {row['head_ms_per_doc']:.1f} | {row['head_ms_per_1000_words']:.1f} |")
    print(f"\npeak RSS: {results['peak_rss_mib']:.0f} MiB; written to {args.out}")


if __name__ == "__main__":
    main()
