"""Corpus statistics for ``python -m spacy_jere debug-data``: what a corpus holds and
what in it the span_relation component cannot learn or predict.

``analyze_corpus`` reads the gold annotation of a list of Docs (entities in
``doc.spans[spans_key]``, relations in ``doc._.relations``) into a ``CorpusStats``;
``compare_corpora`` adds what only a train/dev pair shows. The verdicts (error, warning,
fine) and the text output are in ``debug_data_report``; reading configs and DocBins in
``debug_data_inputs``; the command in ``debug_data_cli``.
"""
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, fields
from typing import Callable, Dict, List, Optional, Tuple

import numpy
from spacy.tokens import Doc, Span

from .candidates import sentence_ids
from .relations import Relation, get_relations

# Doc -> sentence index of every token (the sentences the model pairs within).
Segmenter = Callable[[Doc], numpy.ndarray]

EXAMPLE_TEXT_CHARS = 80
OWN_SENTENCES = "the docs' own sentence boundaries (one sentence when a doc has none)"


@dataclass
class Settings:
    spans_key: str = "entities"
    max_span_width: Optional[int] = 10  # None: the suggester has no limit
    n_examples: int = 3  # examples kept per issue
    sentences: str = OWN_SENTENCES  # where the sentences the model pairs within come from
    entity_overlap: Optional[str] = None  # the config's decoding: "flat" cannot predict nested entities


@dataclass
class Issue:
    """How often something occurs, with the first few occurrences."""

    count: int = 0
    examples: List[dict] = field(default_factory=list)

    def add(self, example: dict, limit: int) -> None:
        self.count += 1
        if len(self.examples) < limit:
            self.examples.append(example)


# Issue names, in report order, with what one occurrence is.
ISSUES = {
    "relation_arguments_not_entities": "relations whose head or tail is not an entity of the doc",
    "too_wide_entities": "entities wider than max span width",
    "relations_with_too_wide_argument": "relations with an argument wider than max span width",
    "entities_across_sentences": "entities that cross a sentence boundary",
    "relations_across_sentences": "relations whose head and tail are in different sentences",
    "relations_between_overlapping_entities": "relations whose head and tail overlap",
    "conflicting_types": "spans annotated with more than one type",
    "nested_entities": "pairs of entities where one contains the other",
    "crossing_entities": "pairs of entities that overlap without nesting",
    "duplicate_entities": "entities repeated with the same span and type",
    "duplicate_relations": "relations repeated with the same arguments and type",
    "multi_label_pairs": "(head, tail) pairs with more than one relation type",
    "duplicate_docs": "docs whose text repeats an earlier doc of the same corpus",
}


@dataclass
class CorpusStats:
    name: str
    source: str = ""
    docs: int = 0
    sentences: int = 0
    tokens: int = 0
    entities: int = 0
    relations: int = 0
    longest_sentence: int = 0
    widest_entity: int = 0
    empty_docs: int = 0
    docs_without_sentence_boundaries: int = 0
    docs_without_entities: int = 0
    docs_without_relations: int = 0
    entity_labels: Counter = field(default_factory=Counter)
    relation_labels: Counter = field(default_factory=Counter)
    # relation label -> "Head -> Tail" entity label signature -> count
    signatures: Dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    spans_keys: Counter = field(default_factory=Counter)  # every doc.spans key seen, to catch a wrong spans_key
    issues: Dict[str, Issue] = field(default_factory=lambda: {name: Issue() for name in ISSUES})
    texts: Dict[str, int] = field(default_factory=dict, repr=False)  # doc text -> first doc index

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "texts"}
        for key in ("entity_labels", "relation_labels", "spans_keys"):
            data[key] = dict(sorted(data[key].items()))
        data["signatures"] = {label: dict(sigs.most_common()) for label, sigs in sorted(self.signatures.items())}
        data["issues"] = {name: asdict(issue) for name, issue in self.issues.items()}
        return data


@dataclass
class DataReport:
    settings: Settings
    train: CorpusStats
    dev: Optional[CorpusStats] = None
    train_dev_overlap: Issue = field(default_factory=Issue)  # dev docs whose text is a train doc's
    unseen_entity_labels: Dict[str, int] = field(default_factory=dict)  # dev label -> dev count
    unseen_relation_labels: Dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "settings": asdict(self.settings),
            "train": self.train.to_dict(),
            "dev": self.dev.to_dict() if self.dev is not None else None,
            "train_dev_overlap": asdict(self.train_dev_overlap),
            "unseen_entity_labels": dict(sorted(self.unseen_entity_labels.items())),
            "unseen_relation_labels": dict(sorted(self.unseen_relation_labels.items())),
        }


def _short(text: str) -> str:
    return text if len(text) <= EXAMPLE_TEXT_CHARS else text[: EXAMPLE_TEXT_CHARS - 3] + "..."


def _entity(span: Span) -> dict:
    return {"text": _short(span.text), "start": span.start, "end": span.end, "label": span.label_}


def _relation(doc_index: int, rel: Relation) -> dict:
    return {"doc": doc_index, "label": rel.label, "head": _entity(rel.head), "tail": _entity(rel.tail)}


def _overlaps(a: Tuple[int, int], b: Tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


class _DocAnalyzer:
    """Adds one doc at a time to a CorpusStats."""

    def __init__(self, stats: CorpusStats, settings: Settings, segment: Segmenter):
        self.stats = stats
        self.settings = settings
        self.segment = segment

    def _issue(self, name: str, example: dict) -> None:
        self.stats.issues[name].add(example, self.settings.n_examples)

    def add(self, i: int, doc: Doc) -> None:
        stats = self.stats
        stats.docs += 1
        stats.tokens += len(doc)
        stats.spans_keys.update(doc.spans.keys())
        if len(doc) == 0:
            stats.empty_docs += 1
        if len(doc) and not doc.has_annotation("SENT_START"):
            stats.docs_without_sentence_boundaries += 1
        if doc.text in stats.texts:
            self._issue("duplicate_docs", {"doc": i, "same_as_doc": stats.texts[doc.text], "text": _short(doc.text)})
        else:
            stats.texts[doc.text] = i
        sent_ids = self.segment(doc)
        if len(sent_ids):
            stats.sentences += int(sent_ids[-1]) + 1
            stats.longest_sentence = max(stats.longest_sentence, int(numpy.bincount(sent_ids).max()))
        entities = list(doc.spans.get(self.settings.spans_key, []))
        self._add_entities(i, entities, sent_ids)
        self._add_overlaps(i, entities)
        self._add_relations(i, doc, entities, sent_ids)

    def _add_entities(self, i: int, entities: List[Span], sent_ids: numpy.ndarray) -> None:
        stats, max_width = self.stats, self.settings.max_span_width
        stats.entities += len(entities)
        stats.docs_without_entities += not entities
        types: Dict[Tuple[int, int], List[str]] = {}
        for span in entities:
            stats.entity_labels[span.label_] += 1
            stats.widest_entity = max(stats.widest_entity, len(span))
            if max_width is not None and len(span) > max_width:
                self._issue("too_wide_entities", {"doc": i, **_entity(span)})
            if sent_ids[span.start] != sent_ids[span.end - 1]:
                self._issue("entities_across_sentences", {"doc": i, **_entity(span)})
            seen = types.setdefault((span.start, span.end), [])
            if span.label_ in seen:
                self._issue("duplicate_entities", {"doc": i, **_entity(span)})
            else:
                seen.append(span.label_)
        for span in entities:
            labels = types.pop((span.start, span.end), [])
            if len(labels) > 1:
                # targets.doc_targets keeps a span's first type in doc.spans order
                self._issue("conflicting_types", {"doc": i, **_entity(span), "labels": labels, "kept": labels[0]})

    def _add_overlaps(self, i: int, entities: List[Span]) -> None:
        """Nested and crossing pairs of distinct spans: sorted by start (longest first),
        a span can only overlap the spans after it that start before it ends."""
        by_bounds = {}
        for span in entities:
            by_bounds.setdefault((span.start, span.end), span)
        spans = sorted(by_bounds.values(), key=lambda s: (s.start, -s.end))
        for a, outer in enumerate(spans):
            for inner in spans[a + 1:]:
                if inner.start >= outer.end:
                    break
                name = "nested_entities" if inner.end <= outer.end else "crossing_entities"
                self._issue(name, {"doc": i, "first": _entity(outer), "second": _entity(inner)})

    def _add_relations(self, i: int, doc: Doc, entities: List[Span], sent_ids: numpy.ndarray) -> None:
        stats, max_width = self.stats, self.settings.max_span_width
        relations = get_relations(doc)
        stats.relations += len(relations)
        stats.docs_without_relations += not relations
        gold = {(s.start, s.end, s.label_) for s in entities}
        seen, pair_labels = set(), defaultdict(list)
        for rel in relations:
            head, tail = (rel.head.start, rel.head.end), (rel.tail.start, rel.tail.end)
            stats.relation_labels[rel.label] += 1
            stats.signatures[rel.label][f"{rel.head.label_} -> {rel.tail.label_}"] += 1
            example = _relation(i, rel)
            key = (*head, rel.head.label_, *tail, rel.tail.label_, rel.label)
            if key in seen:
                self._issue("duplicate_relations", example)
                continue
            seen.add(key)
            pair_labels[(head, tail)].append(rel.label)
            if len(pair_labels[(head, tail)]) == 2:
                self._issue("multi_label_pairs", {**example, "labels": pair_labels[(head, tail)]})
            if key[:3] not in gold or key[3:6] not in gold:
                self._issue("relation_arguments_not_entities", example)
            if max_width is not None and max(len(rel.head), len(rel.tail)) > max_width:
                self._issue("relations_with_too_wide_argument", example)
            if sent_ids[head[0]] != sent_ids[tail[0]]:
                self._issue("relations_across_sentences", example)
            if _overlaps(head, tail):
                self._issue("relations_between_overlapping_entities", example)


def analyze_corpus(
    docs, name: str, settings: Settings, segment: Segmenter = sentence_ids, source: str = ""
) -> CorpusStats:
    """Statistics of one corpus. ``segment`` gives the sentences the model will pair
    within (default: the docs' own)."""
    stats = CorpusStats(name=name, source=source)
    analyzer = _DocAnalyzer(stats, settings, segment)
    for i, doc in enumerate(docs):
        analyzer.add(i, doc)
    return stats


def compare_corpora(train: CorpusStats, dev: CorpusStats, settings: Settings) -> DataReport:
    """Train/dev overlap (identical doc texts) and dev labels never seen in train."""
    report = DataReport(settings=settings, train=train, dev=dev)
    for text, j in dev.texts.items():
        if text in train.texts:
            report.train_dev_overlap.add({"dev_doc": j, "train_doc": train.texts[text], "text": _short(text)},
                                         settings.n_examples)
    report.unseen_entity_labels = {k: v for k, v in dev.entity_labels.items() if k not in train.entity_labels}
    report.unseen_relation_labels = {k: v for k, v in dev.relation_labels.items() if k not in train.relation_labels}
    return report


def build_report(train_docs, dev_docs, settings: Settings, segment: Segmenter = sentence_ids,
                 train_source: str = "", dev_source: str = "") -> DataReport:
    train = analyze_corpus(train_docs, "train", settings, segment, train_source)
    if dev_docs is None:
        return DataReport(settings=settings, train=train)
    dev = analyze_corpus(dev_docs, "dev", settings, segment, dev_source)
    return compare_corpora(train, dev, settings)
