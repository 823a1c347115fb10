"""Character offsets -> token offsets for formats annotated on raw text.

A span that does not start and end on token boundaries is widened to the tokens it
touches (counted and noted): the pipeline tokenizes the same way, so the widened span is
one the model can learn and predict; the exact span could never be matched.

``text`` is the doc's text, passed in: ``doc.text`` is rebuilt from the tokens at each
call, which would make a long document quadratic."""
from typing import Tuple, Union

from spacy.tokens import Doc

from .stats import ConversionStats


def char_to_tokens(
    doc: Doc, text: str, start: int, end: int, where: str, stats: ConversionStats
) -> Union[Tuple[int, int], str]:
    """(token start, token end) of characters [start, end), or a problem."""
    if not 0 <= start < end <= len(text):
        return f"{where}: characters {start}-{end} are outside the text ({len(text)} characters)"
    span = doc.char_span(start, end)
    if span is not None:
        return span.start, span.end
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None or not span.text.strip():
        return f"{where}: characters {start}-{end} ({text[start:end]!r}) cover no word, only whitespace"
    stats.expanded_entities += 1
    stats.notes.append(f"{where}: {text[start:end]!r} widened to whole tokens {span.text!r}")
    return span.start, span.end
