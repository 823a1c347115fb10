"""Command line: ``python -m spacy_jere convert|export|extract|evaluate|render|debug-data``."""
import json
from pathlib import Path
from typing import List, Optional

import typer

from .debug_data_cli import CONTEXT_SETTINGS as DEBUG_DATA_CONTEXT
from .debug_data_cli import debug_data_command
from .extract_cli import extract_command
from .render_cli import render_command

app = typer.Typer(add_completion=False, help="spacy-jere: joint entity and relation extraction for spaCy")


FORMAT_HELP = "auto (detect), spert, brat, dygiepp or prodigy"
SENTENCES_HELP = (
    "BRAT and Prodigy texts: sentencizer (spaCy's rule-based one), lines (each line break starts a sentence) "
    "or none (one sentence per document); auto: sentencizer for BRAT, none for Prodigy"
)


def _fail(err: Exception) -> None:
    typer.echo(str(err), err=True)
    raise typer.Exit(code=1) from None


@app.command()
def convert(
    input_path: Path = typer.Argument(..., help="Corpus file, or BRAT folder", exists=True),
    output_path: Path = typer.Argument(..., help="Output .spacy file"),
    input_format: str = typer.Option("auto", "--format", help=FORMAT_HELP),
    types: Optional[Path] = typer.Option(
        None, "--types", help="SpERT types.json: reject unknown types", exists=True, dir_okay=False
    ),
    spans_key: str = typer.Option("entities", "--spans-key", help="doc.spans key for the entities"),
    lang: str = typer.Option("en", "--lang", help="Tokenizer language for BRAT and Prodigy texts (the pipeline's)"),
    sentences: str = typer.Option("auto", "--sentences", help=SENTENCES_HELP),
    encoding: str = typer.Option("utf-8", "--encoding", help="Text encoding of the input, e.g. latin-1"),
):
    """Validate a corpus (SpERT JSON, BRAT, DyGIE++ or Prodigy rel) and write it as a DocBin (.spacy).
    Nothing is written if anything is wrong: every problem is listed."""
    from .convert import write_docbin
    from .formats.errors import ConversionError
    from .formats.read import read_corpus
    from .formats.stats import summary_lines

    try:
        docs, stats, fmt = read_corpus(input_path, input_format, spans_key=spans_key, types_path=types, lang=lang,
                                       sentences=sentences, encoding=encoding)
    except ConversionError as err:
        _fail(err)
    write_docbin(docs, output_path)
    lines = summary_lines(stats)
    typer.echo(f"{input_path} ({fmt}) -> {output_path}: {lines[0]}")
    for line in lines[1:]:
        typer.echo(line)


@app.command()
def export(
    input_path: Path = typer.Argument(
        ..., exists=True,
        help=".spacy DocBin or any corpus `convert` reads; with --model also texts: a .txt file (one text a line) "
             "or a folder of .txt files",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Output file (spert, dygiepp) or new folder (brat)"),
    output_format: str = typer.Option(..., "--format", help="spert, dygiepp or brat"),
    model: Optional[str] = typer.Option(None, "--model", help="Pipeline: export its predictions on the input's texts"),
    input_format: str = typer.Option("auto", "--input-format", help=FORMAT_HELP),
    spans_key: str = typer.Option("entities", "--spans-key", help="doc.spans key for the entities"),
    lang: str = typer.Option("en", "--lang", help="Tokenizer language for BRAT and Prodigy input"),
    sentences: str = typer.Option("auto", "--sentences", help=SENTENCES_HELP),
    encoding: str = typer.Option("utf-8", "--encoding", help="Text encoding of the input, e.g. latin-1"),
    batch_size: int = typer.Option(32, "--batch-size"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU id, -1 for CPU"),
):
    """Write gold or predicted entities and relations as SpERT JSON, DyGIE++ JSONL or BRAT, e.g. to correct
    a pipeline's predictions in an annotation tool."""
    from .formats.errors import ConversionError
    from .formats.export import load_docs, write_corpus

    nlp = None
    if model is not None:
        import spacy

        if gpu_id >= 0:
            spacy.require_gpu(gpu_id)
        nlp = spacy.load(model)
    try:
        docs = load_docs(input_path, nlp, batch_size, format=input_format, spans_key=spans_key, lang=lang,
                         sentences=sentences, encoding=encoding)
        stats = write_corpus(docs, output_format, output, spans_key)
    except ConversionError as err:
        _fail(err)
    what = "predictions" if model else "annotations"
    typer.echo(f"{input_path} -> {output} ({output_format}, {what}): {stats.docs} docs, {stats.entities} entities, "
               f"{stats.relations} relations")
    for reason, count in sorted(stats.dropped.items()):
        typer.echo(f"  left out {count}: {reason}")


@app.command()
def evaluate(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    data_path: Path = typer.Argument(..., help="Gold .spacy file", exists=True, dir_okay=False),
    output: Optional[Path] = typer.Option(None, "--output", help="Write all scores as JSON here"),
    disable: List[str] = typer.Option([], "--disable", help="Components to switch off (e.g. sentencizer)"),
    gpu_id: int = typer.Option(-1, "--gpu-id", help="GPU id, -1 for CPU"),
    batch_size: int = typer.Option(32, "--batch-size"),
    entity_overlap: Optional[str] = typer.Option(
        None, "--entity-overlap", help="Decode with allow or flat instead of the pipeline's setting"
    ),
    component: str = typer.Option("span_relation", "--component", help="Name of the span_relation component"),
    int8: bool = typer.Option(False, "--int8", help="Quantize the transformer to int8 first (CPU only)"),
):
    """Score a pipeline on gold data: entity, rel and rel_strict P/R/F1, micro and
    macro, and per type."""
    import spacy
    from spacy.training import Corpus

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    overrides = {}
    if entity_overlap is not None:
        overrides = {"components": {component: {"model": {"head": {"entity_overlap": entity_overlap}}}}}
    nlp = spacy.load(model, disable=disable, config=overrides)
    if int8:
        from .quantization import QuantizationError, quantize_pipeline

        if gpu_id >= 0:
            raise typer.BadParameter("--int8 is for the CPU (dynamic quantization): leave out --gpu-id")
        try:
            quantize_pipeline(nlp)
        except QuantizationError as err:
            raise typer.BadParameter(f"{model}: {err}") from None
    examples = list(Corpus(data_path)(nlp))
    _check_gold(data_path, examples, nlp.get_pipe(component).spans_key)
    scores = nlp.evaluate(examples, batch_size=batch_size)
    typer.echo(format_scores(scores))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(scores, indent=2, sort_keys=True), encoding="utf8")
        typer.echo(f"Scores written to {output}")


def _check_gold(data_path: Path, examples: list, spans_key: str) -> None:
    """Refuse data without gold entities (scores would be meaningless zeros) and say
    when there are no gold relations."""
    from .relations import get_relations

    n_entities = sum(len(eg.reference.spans.get(spans_key, [])) for eg in examples)
    n_relations = sum(len(get_relations(eg.reference)) for eg in examples)
    if not examples or not n_entities:
        _fail(ValueError(
            f"{data_path}: {len(examples)} docs and no gold entities in doc.spans[{spans_key!r}]: nothing to score "
            "against. To annotate unlabelled text use `python -m spacy_jere extract` (or `export --model`)."))
    if not n_relations:
        typer.echo(f"{data_path}: no gold relations (doc._.relations): relation scores are 0 by definition; "
                   "entity scores are still meaningful.", err=True)


def format_scores(scores: dict) -> str:
    lines = [f"{'':<12}{'P':>8}{'R':>8}{'F1':>8}{'macro F1':>10}"]
    for prefix in ("ent", "rel", "rel_strict"):
        if f"{prefix}_f" not in scores:
            continue
        lines.append(
            f"{prefix:<12}" + "".join(f"{100 * scores[f'{prefix}_{m}']:>8.2f}" for m in "prf")
            + f"{100 * scores[f'{prefix}_macro_f']:>10.2f}"
        )
    for prefix in ("ent", "rel_strict"):
        table = scores.get(f"{prefix}_per_type") or {}
        if table:
            lines.append(f"\n{prefix} per type{'':<8}{'P':>8}{'R':>8}{'F1':>8}{'support':>9}")
            for label, row in table.items():
                lines.append(
                    f"  {label:<22}" + "".join(f"{100 * row[m]:>8.2f}" for m in "prf") + f"{row['support']:>9}"
                )
    if "speed" in scores:
        lines.append(f"\nspeed: {scores['speed']:.0f} words/s")
    return "\n".join(lines)


app.command("extract")(extract_command)
app.command("render")(render_command)
app.command("debug-data", context_settings=DEBUG_DATA_CONTEXT)(debug_data_command)


def main():
    app()
