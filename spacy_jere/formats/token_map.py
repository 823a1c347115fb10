"""Token positions for token-list formats (SpERT, DyGIE++), which have no whitespace
tokens: a Doc made from raw text (BRAT, Prodigy, a pipeline) may have some ("\\n")."""
from dataclasses import dataclass
from typing import List

import numpy
from spacy.tokens import Doc, Span


@dataclass
class OutputTokens:
    words: List[str]
    keep: numpy.ndarray  # (len(doc),) bool: not a whitespace token
    prefix: numpy.ndarray  # (len(doc) + 1,) output position of each doc position

    def span(self, span: Span):
        """(start, end) in output tokens, or None when the span is only whitespace."""
        start, end = int(self.prefix[span.start]), int(self.prefix[span.end])
        return (start, end) if start < end else None


def output_tokens(doc: Doc) -> OutputTokens:
    # token.text, not token.is_space: a DocBin read with a bare Vocab has no lexeme flags.
    keep = numpy.fromiter((not token.text.isspace() for token in doc), dtype=bool, count=len(doc))
    prefix = numpy.concatenate([[0], numpy.cumsum(keep)]).astype("int64")
    return OutputTokens([token.text for token, kept in zip(doc, keep, strict=True) if kept], keep, prefix)
