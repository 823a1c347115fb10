"""Transformer windows that follow sentences (a spacy-transformers span getter).

spacy-transformers' strided windows run across sentence boundaries, so a sentence inside
a paragraph is encoded with context that a model trained on single sentences never
saw, and entities and relations are lost (CoNLL04 dev, fast.cfg: rel_strict F1 falls
from about 63 on single sentences to about 55 on docs of 10 sentences). These windows
encode every sentence on its own, as in training: a doc of N sentences gets the same
token vectors as its sentences one by one. A sentence longer than ``window`` tokens is
covered by strided windows inside it; a doc without sentence boundaries is one sentence.
"""
from typing import Callable, Iterable, List

from spacy.tokens import Doc, Span
from spacy_transformers.span_getters import get_strided_spans
from spacy_transformers.util import registry


def sentence_windows(docs: Iterable[Doc], window: int, stride: int) -> List[List[Span]]:
    spans = []
    for doc in docs:
        sentences = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
        doc_spans = []
        for sent in sentences:
            if len(sent) <= window:
                doc_spans.append(sent)
            else:
                strided = get_strided_spans([sent.as_doc()], window, stride)[0]
                doc_spans.extend(doc[sent.start + s.start: sent.start + s.end] for s in strided)
        spans.append(doc_spans)
    return spans


@registry.span_getters("spacy_jere.sentence_windows.v1")
def configure_sentence_windows(window: int = 128, stride: int = 96) -> Callable[[List[Doc]], List[List[Span]]]:
    if not 0 < stride <= window:
        raise ValueError(f"sentence_windows: need 0 < stride <= window, got window {window}, stride {stride}")

    def get_spans(docs: Iterable[Doc]) -> List[List[Span]]:
        return sentence_windows(docs, window, stride)

    return get_spans
