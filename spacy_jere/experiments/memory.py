"""Where a pipeline's inference memory goes (issue 17: at most 1 GiB per worker at batch
8). Each batch size runs in a fresh process, because peak RSS only grows: RSS after the
imports, after ``spacy.load``, and the peak while annotating the dev texts; plus the bytes
of the model's parameters. Writes bench/memory/<dataset>.json and .md."""
import json
import time
from pathlib import Path
from typing import List

from .machine import machine
from .process import in_fresh_process, peak_rss_mib, rss_mib

MIB = 1024 * 1024


def _nodes(model):
    """Every thinc node under ``model``, its refs included (the net is a ref)."""
    seen, stack = set(), [model]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(node.layers)
        stack.extend(node.get_ref(name) for name in node.ref_names if node.has_ref(name) and node.get_ref(name))


def _parameter_mib(nlp) -> dict:
    out = {}
    for name, pipe in nlp.pipeline:
        seen, total = set(), 0
        for node in _nodes(pipe.model) if hasattr(pipe, "model") else []:
            for shim in node.shims:
                module = getattr(shim, "_model", None)
                for param in module.parameters() if hasattr(module, "parameters") else []:
                    if id(param) not in seen:
                        seen.add(id(param))
                        total += param.numel() * param.element_size()
        if total:
            out[name] = total / MIB
    return out


def one_process(model: str, dev: str, batch_size: int, int8: bool) -> dict:
    """Run in a fresh process: the stages' RSS for one batch size."""
    import spacy
    import spacy_transformers  # noqa: F401
    import torch
    from spacy.tokens import DocBin

    import spacy_jere  # noqa: F401

    torch.set_num_threads(1)
    stages = {"imports": rss_mib()}
    nlp = spacy.load(model)
    if int8:
        from spacy_jere.quantization import quantize_pipeline

        quantize_pipeline(nlp)
    stages["loaded"] = rss_mib()
    stages["peak_after_loading"] = peak_rss_mib()
    texts = [doc.text for doc in DocBin().from_disk(dev).get_docs(nlp.vocab)]
    start = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=batch_size):
        pass
    seconds = time.perf_counter() - start
    stages["after_annotating"] = rss_mib()
    return {"batch_size": batch_size, "int8": int8, "rss_mib": stages, "peak_rss_mib": peak_rss_mib(),
            "docs_per_s": len(texts) / seconds, "parameters_mib": _parameter_mib(nlp)}


def measure(model: str, dev: Path, batch_sizes: List[int], int8_batch: int) -> dict:
    runs = []
    settings = [(b, False) for b in batch_sizes] + ([(int8_batch, True)] if int8_batch else [])
    for batch_size, int8 in settings:
        runs.append(in_fresh_process("spacy_jere.experiments.memory", "one_process", str(model), str(dev),
                                     batch_size, int8, what=f"memory: batch {batch_size}"))
        print(f"batch {batch_size}{' int8' if int8 else ''}: peak {runs[-1]['peak_rss_mib']:.0f} MiB", flush=True)
    return {"machine": {**machine(), "torch_threads": 1}, "model": str(model), "data": str(dev), "runs": runs}


def markdown(report: dict, command: str) -> str:
    lines = ["# Inference memory: where it goes", "",
             f"`{command}` (model `{report['model']}`, data `{report['data']}`; {report['machine']['cpu']}, "
             f"{report['machine']['cores']} cores, 1 torch thread). One fresh process per row; RSS from "
             "/proc/self/status after each stage, peak from getrusage.", "",
             "| batch | int8 | after imports (MiB) | after spacy.load (MiB) | peak during spacy.load (MiB) | "
             "after annotating (MiB) | peak of the process (MiB) | parameters (MiB) | docs/s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for run in report["runs"]:
        rss = run["rss_mib"]
        params = ", ".join(f"{name} {mib:.2f}" for name, mib in run["parameters_mib"].items())
        lines.append(f"| {run['batch_size']} | {'yes' if run['int8'] else 'no'} | {rss['imports']:.0f} | "
                     f"{rss['loaded']:.0f} | {rss['peak_after_loading']:.0f} | {rss['after_annotating']:.0f} | "
                     f"{run['peak_rss_mib']:.0f} | {params} | {run['docs_per_s']:.1f} |")
    return "\n".join(lines) + "\n"


def write(report: dict, out: Path, command: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": command, **report}, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(report, command))
