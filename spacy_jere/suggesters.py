"""Span suggesters: which spans of a doc are candidates (spaCy spancat's pattern: a
registered function in the config, ``[components.span_relation.suggester]``).

A suggester is called with a batch of docs and returns, per doc, an (n, 2) int64 array
of doc-local (start, end) token spans. It tells the widest span it suggests
(``max_width``, or None when it has no limit), which sizes the span encoders' width
embedding. Training samples its negative spans from the suggested ones, so a suggester
decides what the model learns to reject as well as what it classifies.
"""
from typing import Iterable, List, Optional

import numpy
from spacy.tokens import Doc
from spacy.util import registry

from .candidates import Ints1d, Ints2d, sentence_ids


def enumerate_spans(sent_ids: Ints1d, max_width: int) -> Ints2d:
    """All (start, end) spans of 1..max_width tokens that stay inside one sentence,
    ordered by start, then width."""
    n = len(sent_ids)
    if n == 0:
        return numpy.zeros((0, 2), dtype="int64")
    starts = numpy.repeat(numpy.arange(n), max_width)
    ends = starts + numpy.tile(numpy.arange(1, max_width + 1), n)
    valid = ends <= n
    starts, ends = starts[valid], ends[valid]
    valid = sent_ids[starts] == sent_ids[ends - 1]
    return numpy.stack([starts[valid], ends[valid]], axis=1).astype("int64")


class SentenceNgramSuggester:
    """Every span of 1..max_width tokens inside one sentence (SpERT's enumeration)."""

    def __init__(self, max_width: int):
        if not isinstance(max_width, int) or max_width < 1:
            raise ValueError(
                f"sentence_ngram_suggester: max_width must be a positive number of tokens, got {max_width!r}"
            )
        self.max_width: Optional[int] = max_width

    def __call__(self, docs: Iterable[Doc]) -> List[Ints2d]:
        return [enumerate_spans(sentence_ids(doc), self.max_width) for doc in docs]


@registry.misc("spacy_jere.sentence_ngram_suggester.v1")
def build_sentence_ngram_suggester(max_width: int = 10) -> SentenceNgramSuggester:
    return SentenceNgramSuggester(max_width)
