"""``python -m spacy_jere render``: draw the docs of a DocBin, or texts annotated by a
pipeline, as an HTML page (see spacy_jere/render.py)."""
import sys
from pathlib import Path
from typing import Annotated, List, Optional

import typer


class RenderInputError(Exception):
    """Bad input for the render command; the message says what to do."""


def read_docbin(path: Path, limit: int) -> list:
    """The first ``limit`` docs (0: all) of a .spacy file, titled with their file and number."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    try:
        doc_bin = DocBin().from_disk(path)
    except Exception as err:  # msgpack and zlib raise many kinds of error on a non-DocBin file
        raise RenderInputError(
            f"{path}: not a DocBin (.spacy) file ({type(err).__name__}: {err}). Give a .spacy file written by "
            "DocBin.to_disk or `python -m spacy_jere convert`, or a pipeline name or folder."
        ) from None
    docs = []
    for n, doc in enumerate(doc_bin.get_docs(Vocab())):
        if limit and n >= limit:
            break
        doc.user_data.setdefault("title", f"{path.name} #{n}")
        docs.append(doc)
    if not docs:
        raise RenderInputError(f"{path}: the DocBin holds no docs")
    return docs


def read_texts(texts: List[str], input_path: Optional[Path]) -> List[str]:
    """Texts from the arguments, else from --input (one per line, '-' for stdin), else piped stdin."""
    if texts:
        return list(texts)
    if input_path is not None and str(input_path) != "-":
        if not input_path.is_file():
            raise RenderInputError(f"--input {input_path}: file not found")
        lines = input_path.read_text(encoding="utf8").splitlines()
    elif input_path is not None or not sys.stdin.isatty():
        lines = sys.stdin.read().splitlines()
    else:
        raise RenderInputError("no texts: give them as arguments, with --input FILE (one per line) or on stdin")
    texts = [line for line in lines if line.strip()]
    if not texts:
        raise RenderInputError(f"no texts in {input_path or 'stdin'} (only blank lines)")
    return texts


def annotate(model: str, texts: List[str]) -> list:
    import spacy

    try:
        nlp = spacy.load(model)
    except OSError as err:
        raise RenderInputError(
            f"{model}: neither a .spacy file nor a pipeline spaCy can load ({err}). Give a DocBin file, a pipeline "
            "folder (e.g. training/conll04/fast/model-last) or an installed pipeline package."
        ) from None
    return list(nlp.pipe(texts))


def load_docs(model_or_docbin: str, texts: List[str], input_path: Optional[Path], limit: int) -> list:
    path = Path(model_or_docbin)
    if path.is_file():
        if texts or input_path is not None:
            raise RenderInputError(
                f"{path} is a DocBin: its own docs are drawn. Texts are for a pipeline (give its name or folder)."
            )
        return read_docbin(path, limit)
    if path.suffix == ".spacy":
        raise RenderInputError(f"{path}: file not found")
    docs = annotate(model_or_docbin, read_texts(texts, input_path))
    return docs[:limit] if limit else docs


def render_command(
    model_or_docbin: Annotated[
        str, typer.Argument(help="A .spacy DocBin, or a pipeline name or folder", metavar="MODEL_OR_DOCBIN")
    ],
    texts: Annotated[
        Optional[List[str]],
        typer.Argument(help="Texts for a pipeline (default: --input or stdin)", metavar="[TEXTS]..."),
    ]
    = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="HTML file to write (default: stdout)")]
    = None,
    input_path: Annotated[
        Optional[Path], typer.Option("--input", help="Text file for a pipeline, one text per line ('-': stdin)")
    ] = None,
    spans_key: Annotated[str, typer.Option("--spans-key", help="doc.spans key of the entities")] = "entities",
    limit: Annotated[int, typer.Option("--limit", help="Draw only the first N docs (0: all)", min=0)] = 0,
    ents: Annotated[Optional[List[str]], typer.Option("--ent", help="Entity label to show (repeat; default all)")]
    = None,
    relations: Annotated[
        Optional[List[str]], typer.Option("--relation", help="Relation label to show (repeat; default all)")
    ] = None,
    min_score: Annotated[float, typer.Option("--min-score", help="Hide relations scored below this", min=0, max=1)]
    = 0.0,
    show_scores: Annotated[bool, typer.Option("--show-scores", help="Write scores next to the labels")] = False,
    max_width: Annotated[int, typer.Option("--max-width", help="Wrap lines wider than this (px)", min=100)] = 800,
):
    """Draw entities and relations as an HTML page (SVG): the docs of a DocBin, or texts
    annotated by a pipeline."""
    from .render import render_markup

    try:
        docs = load_docs(model_or_docbin, texts or [], input_path, limit)
    except RenderInputError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(code=1) from None
    options = {
        "spans_key": spans_key, "ents": ents or None, "relations": relations or None, "min_score": min_score,
        "show_scores": show_scores, "max_width": max_width,
    }
    html, stats = render_markup(docs, options, page=True, warn=False)
    if output is None:
        sys.stdout.write(html)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(html, encoding="utf8")
    hidden = f" ({stats.hidden_entities} entities and {stats.hidden_relations} relations hidden by filters)"
    typer.echo(
        f"{stats.docs} docs, {stats.entities} entities, {stats.relations} relations"
        + (hidden if stats.hidden_entities or stats.hidden_relations else "")
        + (f" -> {output}" if output else ""),
        err=True,
    )
    if stats.missing_spans_key:
        keys = sorted(stats.other_span_keys)
        typer.echo(
            f"{stats.missing_spans_key} docs have no doc.spans[{spans_key!r}]"
            + (f"; span keys found: {keys} (use --spans-key)" if keys else ""),
            err=True,
        )
