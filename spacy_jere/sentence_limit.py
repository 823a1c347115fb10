"""A pipeline component that cuts sentences longer than ``max_length`` tokens.

The span_relation component pairs entities within a sentence. Text without sentence
punctuation (a transcript, a list, OCR output) is one "sentence" of hundreds of tokens:
its candidate pairs grow with the square of its entities, overflow the head's
``max_pairs``, and what is left is far from anything seen in training. Cutting such
sentences into pieces of at most ``max_length`` tokens keeps every piece like a training
sentence; relations across a cut are not found (the model pairs within a sentence).
Cuts fall after the last punctuation or whitespace token of the second half of a piece,
else at ``max_length``. Sentences up to ``max_length`` tokens are left alone (the
shipped configs use 128: CoNLL04's and SciERC's longest sentences have 114 and 101).
"""
import warnings
from typing import Iterator, List, Tuple

from spacy.language import Language
from spacy.tokens import Doc


def _cuts(sent_tokens, max_length: int) -> Iterator[int]:
    """Offsets (within the sentence) where new sentences start."""
    start, n = 0, len(sent_tokens)
    while n - start > max_length:
        cut = start + max_length
        for i in range(start + max_length - 1, start + max_length // 2 - 1, -1):
            token = sent_tokens[i]
            if token.is_punct or token.is_space:
                cut = i + 1
                break
        yield cut
        start = cut


def long_sentence_starts(doc: Doc, max_length: int) -> List[int]:
    """Token indices that start a new sentence when the doc's long sentences are cut."""
    sentences: List[Tuple[int, int]] = (
        [(s.start, s.end) for s in doc.sents] if doc.has_annotation("SENT_START") else [(0, len(doc))]
    )
    starts = []
    for start, end in sentences:
        if end - start > max_length:
            starts.extend(start + cut for cut in _cuts(doc[start:end], max_length))
    return starts


class LongSentenceSplitter:
    def __init__(self, name: str, max_length: int):
        if max_length < 2:
            raise ValueError(f"{name}: max_length must be at least 2, got {max_length}")
        self.name = name
        self.max_length = max_length

    def __call__(self, doc: Doc) -> Doc:
        starts = long_sentence_starts(doc, self.max_length)
        if starts and doc.has_annotation("DEP"):
            # spaCy refuses to change sentence starts of a parsed doc.
            warnings.warn(f"{self.name}: doc has a dependency parse, so its {len(starts)} sentence cut(s) at "
                          f"{self.max_length} tokens were not made; put {self.name!r} before the parser", stacklevel=2)
        elif starts:
            if not doc.has_annotation("SENT_START"):
                doc[0].is_sent_start = True
                for token in doc[1:]:
                    token.is_sent_start = False
            for i in starts:
                doc[i].is_sent_start = True
        return doc


@Language.factory("long_sentence_splitter", default_config={"max_length": 128})
def make_long_sentence_splitter(nlp: Language, name: str, max_length: int) -> LongSentenceSplitter:
    return LongSentenceSplitter(name, max_length)
