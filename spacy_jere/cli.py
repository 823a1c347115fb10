"""Command line: ``python -m spacy_jere convert|extract``."""
import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(add_completion=False, help="spacy-jere: joint entity and relation extraction for spaCy")


@app.command()
def convert(
    input_path: Path = typer.Argument(..., help="SpERT JSON file", exists=True, dir_okay=False),
    output_path: Path = typer.Argument(..., help="Output .spacy file"),
    types: Optional[Path] = typer.Option(
        None, "--types", help="SpERT types.json: reject unknown types", exists=True, dir_okay=False
    ),
    spans_key: str = typer.Option("entities", "--spans-key", help="doc.spans key for the entities"),
):
    """Validate a SpERT JSON corpus and write it as a DocBin (.spacy)."""
    from .convert import ConversionError, convert_file

    try:
        stats = convert_file(input_path, output_path, spans_key, types)
    except ConversionError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=1) from None
    typer.echo(
        f"{input_path} -> {output_path}: {stats.docs} docs, {stats.tokens} tokens, "
        f"{stats.entities} entities, {stats.relations} relations"
    )
    typer.echo(f"  entity types: {dict(sorted(stats.entity_types.items()))}")
    typer.echo(f"  relation types: {dict(sorted(stats.relation_types.items()))}")
    if stats.merged_duplicate_entities:
        typer.echo(f"  merged {stats.merged_duplicate_entities} duplicate entities (same span and type)")
    if stats.merged_duplicate_relations:
        typer.echo(f"  merged {stats.merged_duplicate_relations} duplicate relations (same arguments and type)")


@app.command()
def extract(
    model: str = typer.Argument(..., help="Pipeline name or path"),
    texts: List[str] = typer.Argument(None, help="Texts (default: one per line on stdin)"),
    spans_key: str = typer.Option("entities", "--spans-key"),
):
    """Print the entities and relations a pipeline finds, one JSON object per text."""
    import spacy

    nlp = spacy.load(model)
    texts = texts or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    for doc in nlp.pipe(texts):
        typer.echo(
            json.dumps(
                {
                    "text": doc.text,
                    "entities": [
                        {"text": s.text, "label": s.label_, "start": s.start_char, "end": s.end_char}
                        for s in doc.spans.get(spans_key, [])
                    ],
                    "relations": [
                        {"head": r.head.text, "label": r.label, "tail": r.tail.text, "score": round(r.score, 4)}
                        for r in doc._.relations
                    ],
                },
                ensure_ascii=False,
            )
        )


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
    examples = list(Corpus(data_path)(nlp))
    scores = nlp.evaluate(examples, batch_size=batch_size)
    typer.echo(format_scores(scores))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(scores, indent=2, sort_keys=True), encoding="utf8")
        typer.echo(f"Scores written to {output}")


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


def main():
    app()
