"""``python -m spacy_jere extract``: a corpus into tables, or a few texts printed as JSON.

    extract MODEL INPUT... OUTPUT [options]   INPUT: existing .txt/.jsonl/.parquet files,
                                              folders or globs; OUTPUT: a folder (tables)
    extract MODEL [TEXTS]...                  texts (default: stdin lines) -> JSON lines

The arguments after MODEL are a corpus job when there are at least two and all but the
last name existing files or folders or a glob that matches files; otherwise they are
texts. See docs/extraction.md.
"""
import glob
import json
import sys
from pathlib import Path
from typing import Annotated, List, Optional, Tuple

import typer


def corpus_arguments(args: List[str]) -> Optional[Tuple[List[str], Path]]:
    """(INPUT specs, OUTPUT) if the arguments are a corpus job, else None (texts)."""
    if len(args) < 2:
        return None
    inputs = args[:-1]
    if all(Path(arg).exists() or (glob.has_magic(arg) and glob.glob(arg, recursive=True)) for arg in inputs):
        return inputs, Path(args[-1])
    return None


def print_texts(model: str, texts: List[str], spans_key: str, batch_size: int, gpu_id: int) -> None:
    """The original use: one JSON object per text, on stdout."""
    import spacy

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    nlp = spacy.load(model)
    texts = texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    for doc in nlp.pipe(texts, batch_size=batch_size):
        typer.echo(json.dumps({
            "text": doc.text,
            "entities": [{"text": s.text, "label": s.label_, "start": s.start_char, "end": s.end_char}
                         for s in doc.spans.get(spans_key, [])],
            "relations": [{"head": r.head.text, "label": r.label, "tail": r.tail.text, "score": round(r.score, 4)}
                          for r in doc._.relations],
        }, ensure_ascii=False))


def _opt(name: str, help: str, **kwargs):
    return typer.Option(name, help=help, **kwargs)


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code=1)


def extract_command(
    model: Annotated[str, typer.Argument(help="Pipeline name or path")],
    args: Annotated[
        Optional[List[str]],
        typer.Argument(metavar="[INPUT... OUTPUT | TEXTS...]",
                       help="INPUT (.txt one document a line, .jsonl, .parquet, a folder or a glob of them) and "
                            "OUTPUT (a folder for the tables); or texts to print as JSON (default: stdin)"),
    ] = None,
    engine: Annotated[Optional[str], _opt("--engine", "local (nlp.pipe; the default) or ray (Ray Data)")] = None,
    fmt: Annotated[Optional[str], _opt("--format", "Output tables: parquet (the default) or jsonl")] = None,
    batch_size: Annotated[int, _opt("--batch-size", "Docs per nlp.pipe batch", min=1)] = 8,
    n_process: Annotated[Optional[int], _opt("--n-process", "local: worker processes (default 1)", min=1)] = None,
    gpu_id: Annotated[int, _opt("--gpu-id", "local: GPU id, -1 for the CPU")] = -1,
    workers: Annotated[Optional[int], _opt("--workers", "ray: actors, each a pipeline copy (default 1)", min=1)]
    = None,
    cpus_per_worker: Annotated[Optional[float], _opt("--cpus-per-worker", "ray: CPUs per actor (default 1)")] = None,
    gpus_per_worker: Annotated[Optional[float], _opt("--gpus-per-worker", "ray: GPUs per actor (default 0)")] = None,
    ray_address: Annotated[Optional[str], _opt("--ray-address", "ray: an existing cluster (default: a local Ray)")]
    = None,
    text_field: Annotated[Optional[str], _opt("--text-field", "jsonl/parquet: text field (default text)")] = None,
    id_field: Annotated[Optional[str], _opt("--id-field", "jsonl/parquet: id field (default id)")] = None,
    max_chars: Annotated[
        Optional[int], _opt("--max-chars", "Refuse (skip and report) longer documents (default 100000)", min=1)
    ] = None,
    part_size: Annotated[
        Optional[int], _opt("--part-size", "Lines per output part, the unit of resume (default 1000)", min=1)
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar")] = True,
    int8: Annotated[bool, typer.Option("--int8", help="Quantize the transformer to int8 (CPU only; "
                                                      "docs/extraction.md)")] = False,
    spans_key: Annotated[str, typer.Option("--spans-key", help="Texts: doc.spans key of the entities")]
    = "entities",
):
    """Extract entities and relations: a corpus (INPUT) into Parquet or JSONL tables (OUTPUT),
    resumable, locally or on Ray; or a few texts printed as JSON lines."""
    args = list(args or [])
    chosen = {"engine": engine, "format": fmt, "n_process": n_process, "workers": workers,
              "cpus_per_worker": cpus_per_worker, "gpus_per_worker": gpus_per_worker, "ray_address": ray_address,
              "text_field": text_field, "id_field": id_field, "max_chars": max_chars, "part_size": part_size}
    corpus = corpus_arguments(args)
    if corpus is None:
        given = [f"--{name.replace('_', '-')}" for name, value in chosen.items() if value is not None]
        if int8:
            given.append("--int8")
        if given:
            _fail(f"{' '.join(given)}: options of `extract MODEL INPUT... OUTPUT`, but "
                  f"{args[0] if args else 'nothing'!r} is not an existing file, folder or glob (the arguments "
                  "were taken as texts)")
        print_texts(model, args, spans_key, batch_size, gpu_id)
        return
    from .extraction import ExtractionError, ExtractSettings, ExtractUsageError, run_extraction, summary_lines

    inputs, output = corpus
    defaults = ExtractSettings(model=model, inputs=inputs, output=output)
    settings = ExtractSettings(
        model=model, inputs=inputs, output=output, batch_size=batch_size, gpu_id=gpu_id, progress=progress, int8=int8,
        **{name: getattr(defaults, name) if value is None else value for name, value in chosen.items()},
    )
    try:
        summary = run_extraction(settings)
    except ExtractUsageError as err:  # found before anything was annotated
        _fail(f"extract: {err}")
    except ExtractionError as err:  # the run failed: the message says what was done
        _fail(str(err))
    for line in summary_lines(summary):
        typer.echo(line)
