"""``python -m spacy_jere export``: Docs (a DocBin, any supported corpus, or a pipeline's
predictions on texts) -> SpERT JSON, DyGIE++ JSONL or a BRAT folder."""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from ..relations import get_relations
from .brat_out import write_brat
from .doc_meta import DATASET_KEY, DOC_ID_KEY, set_doc_id
from .dygiepp_out import write_dygiepp
from .errors import ConversionError
from .loading import read_text
from .read import read_corpus
from .spert_out import write_spert

WRITERS: Dict[str, Callable] = {"spert": write_spert, "dygiepp": write_dygiepp, "brat": write_brat}


@dataclass
class ExportStats:
    docs: int = 0
    entities: int = 0
    relations: int = 0
    dropped: Counter = field(default_factory=Counter)


def _is_text_input(path: Path) -> bool:
    if path.is_dir():
        return next(path.rglob("*.ann"), None) is None
    return path.suffix == ".txt" and not path.with_suffix(".ann").exists()


def read_texts(path: Path, encoding: str = "utf-8") -> List[tuple]:
    """(text, document name) pairs: each non-blank line of a .txt file, or each .txt file
    of a folder (searched recursively; named by its path without .txt)."""
    if path.is_dir():
        files = sorted(path.rglob("*.txt"))
        return [(read_text(f, encoding), f.relative_to(path).with_suffix("").as_posix()) for f in files]
    lines = read_text(path, encoding).split("\n")
    return [(line.rstrip("\r"), f"line{number}") for number, line in enumerate(lines, start=1) if line.strip()]


def _fresh_copy(nlp: Language, doc: Doc) -> Doc:
    """The doc's tokens, sentence starts and name, without its annotations."""
    copy = Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
    if doc.has_annotation("SENT_START"):
        for source, token in zip(doc, copy, strict=True):
            token.is_sent_start = source.is_sent_start
    for key in (DOC_ID_KEY, DATASET_KEY):
        if key in doc.user_data:
            copy.user_data[key] = doc.user_data[key]
    return copy


def load_docs(path: Path, nlp: Optional[Language] = None, batch_size: int = 32, **read_options) -> List[Doc]:
    """The docs to export; annotated by ``nlp`` when it is given."""
    path = Path(path)
    if nlp is not None and path.exists() and _is_text_input(path):
        pairs = read_texts(path, read_options.get("encoding", "utf-8"))
        if not pairs:
            raise ConversionError(path, ["no texts: 0 documents to annotate"])
        docs = list(nlp.pipe((text for text, _ in pairs), batch_size=batch_size))
        for doc, (_, name) in zip(docs, pairs, strict=True):
            set_doc_id(doc, name)
        return docs
    if path.suffix == ".spacy":
        docs = list(DocBin().from_disk(path).get_docs(nlp.vocab if nlp is not None else Vocab()))
    else:
        docs, _, _ = read_corpus(path, **read_options)
    if nlp is None:
        return docs
    return list(nlp.pipe((_fresh_copy(nlp, doc) for doc in docs), batch_size=batch_size))


def write_corpus(docs: List[Doc], fmt: str, output: Path, spans_key: str = "entities") -> ExportStats:
    if fmt not in WRITERS:
        raise ConversionError(output, [f"--format {fmt!r}: expected one of {', '.join(WRITERS)}"])
    if fmt != "brat" and Path(output).is_dir():
        raise ConversionError(output, [f"is a folder; --format {fmt} writes one file (e.g. {fmt}.json"
                                       f"{'l' if fmt == 'dygiepp' else ''})"])
    dropped = WRITERS[fmt](docs, output, spans_key)
    return ExportStats(
        docs=len(docs),
        entities=sum(len(doc.spans.get(spans_key, [])) for doc in docs),
        relations=sum(len(get_relations(doc)) for doc in docs),
        dropped=dropped,
    )
