"""Relations between spans of a Doc, stored so that they survive serialization.

Relations live in ``doc.user_data`` as plain tuples of offsets, labels and scores
(msgpack can serialize those, so ``DocBin``, ``doc.to_bytes`` and multiprocessing
keep them), and ``doc._.relations`` turns them into ``Relation`` objects with Spans.
"""
from dataclasses import dataclass
from typing import Iterable, List, Tuple

from spacy.tokens import Doc, Span

USER_DATA_KEY = "spacy_jere.relations"
EXTENSION_NAME = "relations"

# (head_start, head_end, head_label, tail_start, tail_end, tail_label, label, score)
StoredRelation = Tuple[int, int, str, int, int, str, str, float]


@dataclass(frozen=True)
class Relation:
    """A typed, directed relation from ``head`` to ``tail`` (both Spans of one Doc)."""

    head: Span
    tail: Span
    label: str
    score: float = 1.0

    def as_tuple(self) -> StoredRelation:
        return (
            self.head.start,
            self.head.end,
            self.head.label_,
            self.tail.start,
            self.tail.end,
            self.tail.label_,
            self.label,
            float(self.score),
        )


def get_relations(doc: Doc) -> Tuple[Relation, ...]:
    """The Doc's relations. A tuple: assign a new sequence to change them."""
    stored = doc.user_data.get(USER_DATA_KEY, [])
    return tuple(
        Relation(
            head=Span(doc, hs, he, label=hl),
            tail=Span(doc, ts, te, label=tl),
            label=label,
            score=score,
        )
        for hs, he, hl, ts, te, tl, label, score in stored
    )


def set_relations(doc: Doc, relations: Iterable[Relation]) -> None:
    stored: List[list] = []
    for i, rel in enumerate(relations):
        if not isinstance(rel, Relation):
            raise TypeError(
                f"doc._.relations[{i}] is a {type(rel).__name__}; expected a "
                "spacy_jere.Relation(head, tail, label, score)"
            )
        for role, span in (("head", rel.head), ("tail", rel.tail)):
            if span.doc is not doc:
                raise ValueError(
                    f"doc._.relations[{i}].{role} ({span.text!r}) belongs to another Doc"
                )
        # Lists, not tuples: msgpack turns tuples into lists, and equality after a
        # round trip should not depend on that.
        stored.append(list(rel.as_tuple()))
    doc.user_data[USER_DATA_KEY] = stored


def register_extension() -> None:
    if not Doc.has_extension(EXTENSION_NAME):
        Doc.set_extension(EXTENSION_NAME, getter=get_relations, setter=set_relations)
