"""What ``debug-data`` reads: DocBins, and from a training config the corpus paths and the
span_relation settings that decide what can be learned (spans_key, the suggester's
widest span, the decoding, the sentences the pipeline sets)."""
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy
from spacy.lang.lex_attrs import LEX_ATTRS
from spacy.language import Language
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc, DocBin
from spacy.training.corpus import walk_corpus
from spacy.util import load_config, registry
from spacy.vocab import Vocab

from .candidates import sentence_ids
from .debug_data import OWN_SENTENCES, Segmenter
from .sentence_limit import long_sentence_starts

FACTORY = "span_relation"
# Components that set sentence boundaries with a trained model: not simulated here.
MODEL_SEGMENTERS = ("senter", "parser")


class InputError(ValueError):
    """Bad input to debug-data; the message says which file or setting and what to do."""


@dataclass
class Inputs:
    train: Path
    dev: Optional[Path]
    spans_key: str = "entities"
    max_span_width: Optional[int] = 10
    entity_overlap: Optional[str] = None
    segment: Segmenter = sentence_ids
    sentences: str = OWN_SENTENCES


def make_vocab() -> Vocab:
    """A vocab whose lexemes know punctuation (a bare Vocab() calls every token
    non-punctuation), which the sentencizer and long_sentence_splitter rely on."""
    return Vocab(lex_attr_getters=dict(LEX_ATTRS))


def read_docs(path: Path, vocab: Vocab) -> List[Doc]:
    """Every Doc of a .spacy file, or of the .spacy files under a directory."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.suffix == ".json":
        raise InputError(f"{path}: a JSON file, not a DocBin; convert SpERT JSON first: "
                         f"python -m spacy_jere convert {path} OUT.spacy")
    files = [path] if path.is_file() else [p for p in walk_corpus(path, ".spacy")]
    if not files:
        raise InputError(f"{path}: no .spacy files in this directory")
    docs: List[Doc] = []
    for file in files:
        try:
            docs.extend(DocBin().from_disk(file).get_docs(vocab))
        except Exception as err:  # msgpack and DocBin raise many types on a bad file
            raise InputError(f"{file}: not a readable DocBin (.spacy) file ({type(err).__name__}: {err}); "
                             "make one with python -m spacy_jere convert or spacy convert") from None
    return docs


def pipeline_segmenter(sentencizer: bool, punct_chars: Optional[List[str]] = None,
                       max_length: Optional[int] = None) -> Segmenter:
    """Sentence ids as the pipeline sets them on unsegmented text (which is what it gets
    at prediction and in evaluation): spaCy's sentencizer, then long_sentence_splitter's
    cuts at ``max_length`` tokens. Without either, a doc is one sentence."""
    splitter = Sentencizer(punct_chars=punct_chars) if sentencizer else None

    def segment(doc: Doc) -> numpy.ndarray:
        if len(doc) == 0:
            return numpy.zeros((0,), dtype="int64")
        starts = splitter.predict([doc])[0] if splitter is not None else [i == 0 for i in range(len(doc))]
        if max_length:
            plain = Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc],
                        sent_starts=starts)
            for i in long_sentence_starts(plain, max_length):
                starts[i] = True
        return numpy.cumsum(numpy.asarray(starts, dtype=bool)).astype("int64") - 1

    return segment


def _component(config, name: Optional[str], path: Path) -> Tuple[str, Dict[str, Any]]:
    components = config.get("components", {})
    if name is not None:
        if name not in components:
            raise InputError(f"{path}: no component {name!r} in [components] (has {sorted(components)})")
        return name, components[name]
    names = [n for n, block in components.items() if block.get("factory") == FACTORY]
    if not names:
        raise InputError(f"{path}: no component with factory = \"{FACTORY}\" in [components]; "
                         "pass --component NAME, or use --max-span-width/--spans-key with DocBins")
    if len(names) > 1:
        raise InputError(f"{path}: several {FACTORY} components ({', '.join(names)}): pass --component NAME")
    return names[0], components[names[0]]


def _max_span_width(block: Dict[str, Any]) -> Optional[int]:
    """The widest span the component's suggester proposes (None: no limit), as the pipe
    reads it: the built suggester's ``max_width``."""
    suggester = block.get("suggester") or Language.get_factory_meta(FACTORY).default_config["suggester"]
    built = registry.resolve({"suggester": suggester})["suggester"]
    return getattr(built, "max_width", None)


def _sentences(config, component: str) -> Tuple[Segmenter, str]:
    """How the pipeline segments text before ``component``."""
    pipeline = list(config.get("nlp", {}).get("pipeline", []))
    before = pipeline[: pipeline.index(component)] if component in pipeline else pipeline
    blocks = config.get("components", {})
    sentencizer, punct_chars, max_length = False, None, None
    for name in before:
        block = blocks.get(name, {})
        factory = block.get("factory")
        if "source" in block or factory in MODEL_SEGMENTERS:
            return sentence_ids, f"{OWN_SENTENCES}; the pipeline's {name!r} is a trained model, not simulated"
        if factory == "sentencizer":
            sentencizer, punct_chars = True, block.get("punct_chars")
        elif factory == "long_sentence_splitter":
            max_length = block.get("max_length", 128)
    parts = (["the pipeline's sentencizer"] if sentencizer else []) + (
        [f"long_sentence_splitter (max_length {max_length})"] if max_length else [])
    described = " then ".join(parts) if parts else "none in the pipeline: each doc is one sentence"
    return pipeline_segmenter(sentencizer, punct_chars, max_length), f"as set at prediction time: {described}"


def _corpus_path(config, key: str, path: Path, required: bool) -> Optional[Path]:
    value = config.get("paths", {}).get(key)
    if value in (None, ""):
        if required:
            raise InputError(f"{path}: paths.{key} is not set; pass --paths.{key} PATH")
        return None
    return Path(value)


def read_config_inputs(path: Path, overrides: Dict[str, Any], component: Optional[str] = None) -> Inputs:
    """Corpus paths and settings from a training config (with ``--section.key value``
    overrides, as spacy train and spacy debug data take them)."""
    config = load_config(path, overrides=overrides, interpolate=True)
    name, block = _component(config, component, path)
    segment, sentences = _sentences(config, name)
    head = block.get("model", {}).get("head", {})
    return Inputs(
        train=_corpus_path(config, "train", path, required=True),
        dev=_corpus_path(config, "dev", path, required=False),
        spans_key=block.get("spans_key", "entities"),
        max_span_width=_max_span_width(block),
        entity_overlap=head.get("entity_overlap") if isinstance(head, dict) else None,
        segment=segment,
        sentences=sentences,
    )
