"""Sentence boundaries for documents whose text is tokenized here (BRAT, Prodigy)."""
from typing import Iterable, Tuple

import numpy
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc

# sentencizer: spaCy's rule-based Sentencizer (punctuation); lines: each line break starts
# a sentence (one-sentence-per-line corpora); none: the whole document is one sentence.
SENTENCE_MODES = ("sentencizer", "lines", "none")

_SENTENCIZER = Sentencizer()


def set_sentences(doc: Doc, mode: str) -> None:
    if mode not in SENTENCE_MODES:
        raise ValueError(f"sentences: {mode!r} is not one of {', '.join(SENTENCE_MODES)}")
    if len(doc) == 0:
        return
    if mode == "sentencizer":
        _SENTENCIZER(doc)
        return
    for i, token in enumerate(doc):
        token.is_sent_start = i == 0 or (mode == "lines" and "\n" in doc[i - 1].text)


def keep_entities_whole(doc: Doc, spans: Iterable[Tuple[int, int]]) -> int:
    """Remove sentence starts inside the (start, end) token spans; how many were removed.
    An entity split by a sentence boundary could never be predicted."""
    removed = 0
    for start, end in spans:
        for i in range(start + 1, end):
            if doc[i].is_sent_start:
                doc[i].is_sent_start = False
                removed += 1
    return removed


def sentence_ids(doc: Doc) -> numpy.ndarray:
    """Sentence index of every token; one sentence when the doc is not segmented."""
    if len(doc) == 0 or not doc.has_annotation("SENT_START"):
        return numpy.zeros((len(doc),), dtype="int64")
    is_start = doc.to_array("SENT_START").astype("int64") == 1
    is_start[0] = True
    return numpy.cumsum(is_start) - 1
