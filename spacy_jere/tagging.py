"""BIO tags of the gold entities, for the token stack (STSN, Ji et al.: the sequence
tagging decoder of section 3.3 and the extended BIO scheme of section 4.1).

One tag vocabulary per pipe, built at initialize from the entity labels and the
training data: "O", then "B-X" and "I-X" for each entity label X. When some token of
the training data is covered by two entities (after merging identical spans, as the
targets do), the extended scheme is chosen: a token covered by two entities gets a
combined tag, the preceding entity's first ("B-AE/B-DRUG"). The preceding entity is the
one that starts first, or the longer one at an equal start. The extended vocabulary holds
every combination that can occur ("B-X/B-Y", "I-X/B-Y", "I-X/I-Y" for every pair of
labels; "B-X/I-Y" cannot: the preceding entity started no later than the other), so an
update never meets a tag it does not know. A token covered by three or more entities
cannot be tagged: initialize stops with an error naming the example and the spans.

Decoding turns predicted tags back into spans (``decode``), the reverse of ``encode``.
With two entities of the same label in one token the tags are ambiguous where only one
of them goes on ("I-X"): the preceding one is taken to continue (nesting, the common
case, decodes exactly; two crossing entities of one label do not).
"""
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc, Token

OUTSIDE = "O"
SEPARATOR = "/"


class TagScheme:
    """A tag vocabulary (``tags``, index = tag id) and the entity labels it tags."""

    def __init__(self, tags: Sequence[str]):
        self.tags = list(tags)
        if not self.tags or self.tags[0] != OUTSIDE:
            raise ValueError(f"TagScheme: the first tag must be {OUTSIDE!r}, got {self.tags[:1]}")
        self.ids = {tag: i for i, tag in enumerate(self.tags)}
        self.extended = any(SEPARATOR in tag for tag in self.tags)
        self.depth = 2 if self.extended else 1

    @classmethod
    def build(cls, entity_labels: Sequence[str], extended: bool) -> "TagScheme":
        single = [f"{prefix}-{label}" for label in entity_labels for prefix in ("B", "I")]
        tags = [OUTSIDE] + single
        if extended:
            for first, second in (("B", "B"), ("I", "B"), ("I", "I")):
                tags += [f"{first}-{x}{SEPARATOR}{second}-{y}" for x in entity_labels for y in entity_labels]
        return cls(tags)

    def __len__(self) -> int:
        return len(self.tags)

    def encode(self, n_tokens: int, spans: numpy.ndarray, labels: Sequence[str]) -> Tuple[numpy.ndarray, int]:
        """Tag ids (n_tokens,) of the entities ``spans`` (n, 2) with ``labels``, and how
        many entities could not be tagged (a token covered by more entities than the
        scheme's depth: the later ones are left out)."""
        tag_ids = numpy.zeros((n_tokens,), dtype="int64")
        if len(spans) == 0:
            return tag_ids, 0
        covering = _covering(spans)
        left_out = set()
        for rows in covering.values():
            left_out.update(rows[self.depth:])
        for token, rows in covering.items():
            parts = [f"{'B' if spans[row, 0] == token else 'I'}-{labels[row]}"
                     for row in rows[:self.depth] if row not in left_out]
            tag_ids[token] = self.ids[SEPARATOR.join(parts) or OUTSIDE]
        return tag_ids, len(left_out)

    def decode(self, tag_ids: Iterable[int], sentence_starts: Optional[Sequence[bool]] = None
               ) -> List[Tuple[int, int, str]]:
        """(start, end, label) of the entities that the tags spell, in order of their
        start. An "I-X" that continues no open X entity starts one; an entity ends at
        a sentence start."""
        tag_ids = [int(tag_id) for tag_id in tag_ids]
        found: List[Tuple[int, int, str]] = []
        open_: List[List] = []  # [start, label], the preceding entity first
        for token, tag_id in enumerate(tag_ids):
            tag = self.tags[tag_id]
            parts = [] if tag == OUTSIDE else tag.split(SEPARATOR)
            if sentence_starts is not None and sentence_starts[token]:
                found += [(start, token, label) for start, label in open_]
                open_ = []
            still_open, waiting = [], list(open_)
            for part in parts:
                prefix, label = part[0], part[2:]
                match = None
                if prefix == "I":
                    match = next((entity for entity in waiting if entity[1] == label), None)
                if match is not None:
                    waiting.remove(match)
                    still_open.append(match)
                else:
                    still_open.append([token, label])
            found += [(start, token, label) for start, label in waiting]
            open_ = still_open
        found += [(start, len(tag_ids), label) for start, label in open_]
        return sorted(found, key=lambda entity: (entity[0], -entity[1]))


def batch_tags(scheme: TagScheme, docs: Sequence[Doc], targets: Sequence, entity_labels: Sequence[str]
               ) -> Tuple[numpy.ndarray, int]:
    """Gold tag ids (T,) of a batch's tokens, in the batch's flat order (doc after doc),
    from each doc's ``DocTargets`` (gold spans the targets could not align are not in
    them: their tokens stay "O"); and the count of entities left out of the tags."""
    all_ids, left_out = [], 0
    for doc, gold in zip(docs, targets, strict=True):
        labels = [entity_labels[label - 1] for label in gold.span_labels.tolist()]
        ids, n = scheme.encode(len(doc), gold.spans, labels)
        all_ids.append(ids)
        left_out += n
    return (numpy.concatenate(all_ids) if all_ids else numpy.zeros((0,), "int64")), left_out


def _covering(spans: numpy.ndarray) -> dict:
    """Token -> the rows of the spans covering it, the preceding span first (earlier
    start, then the longer)."""
    order = sorted(range(len(spans)), key=lambda row: (int(spans[row, 0]), -int(spans[row, 1])))
    covering: dict = {}
    for row in order:
        for token in range(int(spans[row, 0]), int(spans[row, 1])):
            covering.setdefault(token, []).append(row)
    return covering


def choose_scheme(entity_labels: Sequence[str], docs: Sequence[Doc], spans_key: str) -> TagScheme:
    """The tag scheme for training docs: BIO, or the extended BIO when some token is
    covered by two entities. A token covered by three or more is a ValueError naming the
    training example and the spans. Identical spans count once (one type a span)."""
    depth = 0
    for i, doc in enumerate(docs):
        unique = {}
        for span in doc.spans.get(spans_key, []):
            unique.setdefault((span.start, span.end), span)
        spans = list(unique.values())
        if not spans:
            continue
        covering = _covering(numpy.array([(s.start, s.end) for s in spans], dtype="int64"))
        for token, rows in sorted(covering.items()):
            if len(rows) >= 3:
                described = ", ".join(f"{spans[row].text!r} {spans[row].label_} [{spans[row].start}:{spans[row].end}]"
                                      for row in rows)
                raise ValueError(
                    f"training example {i}: token {token} ({doc[token].text!r}) is covered by {len(rows)} entities "
                    f"in doc.spans['{spans_key}']: {described}. The token stack's BIO tags (extended scheme, Ji et "
                    "al. 4.1) represent at most two overlapping entities a token. Remove the token_stack from the "
                    "model or the deeper overlaps from the data."
                )
            depth = max(depth, len(rows))
    return TagScheme.build(entity_labels, extended=depth >= 2)


# -- the exposed output: Doc._.jere_tags (one tag a token), Token._.jere_tag -------------
def _token_tag(token: Token) -> str:
    tags = token.doc._.jere_tags
    return tags[token.i] if tags else ""


def register_tag_extensions() -> None:
    """``Doc._.jere_tags``: the token stack's predicted BIO tags (a list, one a token;
    None when no pipe with a token stack ran); ``Token._.jere_tag``: the token's tag, ""
    without one."""
    if not Doc.has_extension("jere_tags"):
        Doc.set_extension("jere_tags", default=None)
    if not Token.has_extension("jere_tag"):
        Token.set_extension("jere_tag", getter=_token_tag)
