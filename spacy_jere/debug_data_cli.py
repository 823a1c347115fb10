"""``python -m spacy_jere debug-data CONFIG_OR_CORPUS [DEV_CORPUS]``: spaCy's ``debug
data`` for the span_relation component. Register it with the context settings below,
so that ``--paths.train X`` style config overrides reach the command:
``app.command("debug-data", context_settings=CONTEXT_SETTINGS)(debug_data_command)``."""
import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from click.exceptions import NoSuchOption
from spacy.cli._util import parse_config_overrides, show_validation_error
from wasabi import msg

from .debug_data import Settings, build_report
from .debug_data_inputs import InputError, Inputs, make_vocab, pipeline_segmenter, read_config_inputs, read_docs
from .debug_data_report import WARN, findings, print_report

CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True}
CONFIG_SUFFIXES = (".cfg", ".conf", ".ini")


def _inputs(first: Path, extra: List[str], component: Optional[str], sentencizer: bool) -> Inputs:
    """From a config (``extra`` holds its overrides) or from one or two DocBins (``extra``
    holds the dev corpus, if any)."""
    if first.suffix in CONFIG_SUFFIXES:
        if sentencizer:
            msg.warn("--sentencizer is for DocBins: with a config, the config's pipeline decides the sentences")
        try:
            overrides = parse_config_overrides(list(extra))
        except NoSuchOption as err:
            raise InputError(f"{err.option_name}: not an option of debug-data, nor a config override "
                             "(--section.key value)") from None
        with show_validation_error(first, hint_fill=False):
            return read_config_inputs(first, overrides, component)
    unexpected = extra[1:] if extra and not extra[0].startswith("-") else extra
    if unexpected:
        raise InputError(f"unexpected arguments {' '.join(unexpected)}: config overrides need a config file; "
                         "with DocBins give TRAIN.spacy [DEV.spacy] and the options in --help")
    inputs = Inputs(train=first, dev=Path(extra[0]) if extra else None)
    if sentencizer:
        inputs.segment = pipeline_segmenter(sentencizer=True)
        inputs.sentences = "as spaCy's sentencizer sets them (--sentencizer)"
    return inputs


def debug_data_command(
    ctx: typer.Context,
    config_or_corpus: Annotated[Path, typer.Argument(
        help="Training config (.cfg; reads paths.train and paths.dev), or the training corpus (.spacy file or "
             "directory of them)", exists=True, show_default=False, metavar="CONFIG_OR_CORPUS")],
    dev_corpus: Annotated[Optional[str], typer.Argument(
        help="Dev corpus (.spacy), after a training corpus", show_default=False, metavar="DEV_CORPUS")] = None,
    max_span_width: Annotated[Optional[int], typer.Option(
        "--max-span-width", min=1, help="Widest entity the model can predict (default: the config's suggester "
                                        "max_width, else 10)", show_default=False)] = None,
    spans_key: Annotated[Optional[str], typer.Option(
        "--spans-key", help="doc.spans key of the entities (default: the config's, else entities)",
        show_default=False)] = None,
    sentencizer: Annotated[bool, typer.Option(
        "--sentencizer", help="DocBins: check sentences as spaCy's sentencizer sets them at prediction time "
                              "(as the shipped configs do) instead of the docs' own")] = False,
    component: Annotated[Optional[str], typer.Option(
        "--component", help="Config: name of the span_relation component (default: the only one)",
        show_default=False)] = None,
    n_examples: Annotated[int, typer.Option("--examples", min=0, help="Examples shown per finding")] = 3,
    json_path: Annotated[Optional[Path], typer.Option(
        "--json", dir_okay=False, help="Also write the report as JSON here", show_default=False)] = None,
):
    """Check a corpus for the span_relation component: labels and counts, entities the
    model can never predict (too wide, across sentences), overlapping and nested
    entities, relations across sentences, duplicates, train/dev overlap, dev labels
    unseen in train. Exits with 1 on errors. Config overrides (--paths.train X) work as
    in spacy debug data."""
    extra = ([dev_corpus] if dev_corpus is not None else []) + list(ctx.args)
    try:
        inputs = _inputs(config_or_corpus, extra, component, sentencizer)
        vocab = make_vocab()
        train_docs = read_docs(inputs.train, vocab)
        dev_docs = read_docs(inputs.dev, vocab) if inputs.dev is not None else None
    except InputError as err:
        msg.fail(str(err))
        raise typer.Exit(code=1) from None
    settings = Settings(
        spans_key=spans_key or inputs.spans_key,
        max_span_width=max_span_width if max_span_width is not None else inputs.max_span_width,
        n_examples=n_examples,
        sentences=inputs.sentences,
        entity_overlap=inputs.entity_overlap,
    )
    report = build_report(train_docs, dev_docs, settings, inputs.segment, str(inputs.train),
                          str(inputs.dev) if inputs.dev is not None else "")
    found = findings(report)
    n_errors = print_report(report, found)
    if json_path is not None:
        data = {
            "errors": n_errors,
            "warnings": sum(f.level == WARN for f in found),
            "findings": [f.to_dict() for f in found],
            "report": report.to_dict(),
        }
        try:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf8")
        except OSError as err:
            msg.fail(f"{json_path}: cannot write the JSON report ({err.strerror or err})")
            raise typer.Exit(code=1) from None
        msg.info(f"Report written to {json_path}")
    if n_errors:
        raise typer.Exit(code=1)

