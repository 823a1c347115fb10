"""Verdicts on a ``debug_data.DataReport`` and their text, the way ``spacy debug data``
reports: ✔ checks passed, ⚠ warnings, ✘ errors (training would fail or learn nothing),
ℹ information. ``findings`` decides; ``print_report`` prints."""
from dataclasses import dataclass, field
from typing import List, Optional

from wasabi import Printer

from .debug_data import ISSUES, CorpusStats, DataReport, Issue

GOOD, INFO, WARN, FAIL = "good", "info", "warn", "fail"
LOW_COUNT = 20  # fewer training examples than this for a label: warn
SIGNATURES = 6  # (head, tail) type signatures shown per relation label
RELATION_ISSUES = {
    "relation_arguments_not_entities", "relations_with_too_wide_argument", "relations_across_sentences",
    "relations_between_overlapping_entities", "duplicate_relations", "multi_label_pairs",
}


@dataclass
class Finding:
    level: str  # GOOD, INFO, WARN or FAIL
    section: str
    text: str
    examples: List[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"level": self.level, "section": self.section, "text": self.text, "examples": self.examples}


def _entity(ent: dict) -> str:
    return f"{ent['text']!r} [{ent['start']}:{ent['end']}] {ent['label']}"


def _relation(ex: dict) -> str:
    return f"doc {ex['doc']}: {_entity(ex['head'])} -{ex['label']}-> {_entity(ex['tail'])}"


def _describe(name: str, ex: dict) -> str:
    if name == "duplicate_docs":
        return f"doc {ex['doc']} = doc {ex['same_as_doc']}: {ex['text']!r}"
    if name in ("nested_entities", "crossing_entities"):
        return f"doc {ex['doc']}: {_entity(ex['first'])} and {_entity(ex['second'])}"
    if name == "conflicting_types":
        return (f"doc {ex['doc']}: {ex['text']!r} [{ex['start']}:{ex['end']}] types {', '.join(ex['labels'])} "
                f"(keeps {ex['kept']})")
    if name == "multi_label_pairs":
        return _relation(ex) + f" (types {', '.join(ex['labels'])})"
    if "head" in ex:
        return _relation(ex)
    return f"doc {ex['doc']}: {_entity(ex)} ({ex['end'] - ex['start']} tokens)"


class _Checks:
    """Turns one corpus's counts into findings, in report order."""

    def __init__(self, report: DataReport):
        self.report = report
        self.out: List[Finding] = []

    def add(self, level: str, section: str, text: str, examples=()) -> None:
        self.out.append(Finding(level, section, text, list(examples)))

    def issue(self, stats: CorpusStats, name: str, level: str, why: str = "", good: Optional[str] = None) -> None:
        """"train: <what>: <count>. <why>", with examples; ``good`` is said when there are none."""
        found: Issue = stats.issues[name]
        section = "Docs" if name == "duplicate_docs" else "Relations" if name in RELATION_ISSUES else "Entities"
        if found.count:
            what = ISSUES[name]
            if "max span width" in what:
                what = what.replace("max span width", f"max_span_width ({self.report.settings.max_span_width})")
            self.add(level, section, f"{stats.name}: {what}: {found.count}" + (f". {why}" if why else ""),
                     [_describe(name, ex) for ex in found.examples])
        elif good:
            self.add(GOOD, section, f"{stats.name}: {good}")

    def corpus(self, stats: CorpusStats) -> None:
        self.docs(stats)
        if stats.docs:
            self.entities(stats)
        if stats.entities:  # else the spans_key is likely wrong, and every relation would look broken
            self.relations(stats)

    def docs(self, stats: CorpusStats) -> None:
        source = f" ({stats.source})" if stats.source else ""
        if not stats.docs:
            self.add(FAIL, "Docs", f"{stats.name}: no docs{source}")
            return
        self.add(INFO, "Docs", f"{stats.name}{source}: docs {stats.docs}, sentences {stats.sentences}, "
                               f"tokens {stats.tokens}, entities {stats.entities}, relations {stats.relations}")
        for count, what in ((stats.empty_docs, "docs without tokens"),
                            (stats.docs_without_entities, "docs without entities"),
                            (stats.docs_without_relations, "docs without relations")):
            if count:
                self.add(INFO, "Docs", f"{stats.name}: {what}: {count}")
        self.issue(stats, "duplicate_docs", WARN,
                   "They weigh double in training" if stats.name == "train" else "They count twice in the scores")

    def entities(self, stats: CorpusStats) -> None:
        key = self.report.settings.spans_key
        if not stats.entities:
            others = sorted(k for k in stats.spans_keys if k != key)
            hint = f"; the docs have doc.spans keys {others}: pass --spans-key" if others else ""
            level = FAIL if stats.name == "train" else WARN
            self.add(level, "Entities", f"{stats.name}: no entities in doc.spans[{key!r}]{hint}")
            return
        self.add(INFO, "Entities", f"{stats.name}: entity labels " + _counts(stats.entity_labels))
        self._widths(stats)
        self.issue(stats, "entities_across_sentences", WARN,
                   "Candidate spans stay inside a sentence, so these are never predicted",
                   "no entity crosses a sentence boundary")
        self.issue(stats, "conflicting_types", WARN,
                   f"Training keeps one type a span, the first in doc.spans[{key!r}] order, and leaves the others out",
                   "no span has two types")
        if self.report.settings.entity_overlap == "flat":
            level, why = WARN, "The config decodes with entity_overlap = \"flat\", which never predicts both of a pair"
        else:
            level, why = INFO, ("entity_overlap = \"allow\" can predict them; \"flat\" decoding (the shipped "
                                "configs') keeps one of each pair")
        self.issue(stats, "nested_entities", level, why, "no nested entities")
        self.issue(stats, "crossing_entities", level, why, "no crossing entities")
        self.issue(stats, "duplicate_entities", WARN, "Training uses one of each", "no duplicate entities")
        self._low_counts(stats.name, stats.entity_labels, "entity")

    def _widths(self, stats: CorpusStats) -> None:
        max_width = self.report.settings.max_span_width
        if max_width is None:
            self.add(INFO, "Entities", f"{stats.name}: widest entity {stats.widest_entity} tokens (no max span width)")
            return
        self.issue(stats, "too_wide_entities", WARN,
                   "They are never suggested, so never predicted; raise the suggester's max_width to cover them",
                   f"every entity fits max_span_width = {max_width} (widest: {stats.widest_entity} tokens)")

    def relations(self, stats: CorpusStats) -> None:
        self.issue(stats, "relation_arguments_not_entities", FAIL,
                   "An argument must be an entity of the doc with the same span and type (initializing the pipe "
                   "on such training data fails)")
        if not stats.relations:
            text = f"{stats.name}: no relations"
            if stats.name == "train":
                text += (": only entities will be learned (a DocBin keeps relations only when made with "
                         "store_user_data=True)")
            self.add(WARN, "Relations", text)
            return
        self.add(INFO, "Relations", f"{stats.name}: relation labels " + _counts(stats.relation_labels))
        for label, sigs in sorted(stats.signatures.items()):
            self.add(INFO, "Relations", f"{stats.name}: {label} (head -> tail types): " + _counts(sigs, SIGNATURES))
        self.issue(stats, "relations_across_sentences", WARN,
                   "The model pairs entities within a sentence, so these are never predicted",
                   "no relation crosses a sentence boundary")
        self.issue(stats, "relations_between_overlapping_entities", WARN,
                   "The model pairs only non-overlapping spans, so these are never predicted",
                   "no relation between overlapping entities")
        if self.report.settings.max_span_width is not None:
            self.issue(stats, "relations_with_too_wide_argument", WARN, "These are never predicted")
        self.issue(stats, "duplicate_relations", WARN, "Training uses one of each", "no duplicate relations")
        self.issue(stats, "multi_label_pairs", INFO, "Learned as multi-label pairs")
        self._low_counts(stats.name, stats.relation_labels, "relation")

    def _low_counts(self, name: str, counts, kind: str) -> None:
        if name != "train":
            return
        for label, n in sorted(counts.items()):
            if n < LOW_COUNT:
                self.add(WARN, "Entities" if kind == "entity" else "Relations",
                         f"train: examples of {kind} label {label!r}: {n} (fewer than {LOW_COUNT})")

    def comparison(self) -> None:
        report = self.report
        if report.dev is None:
            self.add(INFO, "Train and dev", "no dev corpus: overlap and unseen-label checks skipped")
            return
        if not report.dev.docs:
            return
        overlap = report.train_dev_overlap
        if overlap.count:
            self.add(WARN, "Train and dev", f"dev doc texts also in train: {overlap.count}. Dev scores overrate "
                     "the model on them",
                     [f"dev doc {ex['dev_doc']} = train doc {ex['train_doc']}: {ex['text']!r}"
                      for ex in overlap.examples])
        else:
            self.add(GOOD, "Train and dev", "no overlap between train and dev doc texts")
        for kind, unseen in (("entity", report.unseen_entity_labels), ("relation", report.unseen_relation_labels)):
            if unseen:
                self.add(WARN, "Train and dev", f"dev {kind} labels never seen in train (never predicted): "
                         + _counts(unseen))
            else:
                self.add(GOOD, "Train and dev", f"every dev {kind} label is in train")


def _counts(counter, limit: Optional[int] = None) -> str:
    """"A (3), B (1)", most frequent first, the first ``limit`` of them."""
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{label} ({n})" for label, n in items[:limit])
    return text + (f", and {len(items) - limit} more (all in --json)" if limit and len(items) > limit else "")


def findings(report: DataReport) -> List[Finding]:
    """Everything to report, with its level."""
    checks = _Checks(report)
    checks.corpus(report.train)
    if report.dev is not None:
        checks.corpus(report.dev)
    checks.comparison()
    return checks.out


SECTIONS = ("Docs", "Entities", "Relations", "Train and dev")


def print_report(report: DataReport, found: List[Finding], printer: Optional[Printer] = None) -> int:
    """Print the findings by section, then the summary; returns the number of errors."""
    msg = printer or Printer()
    settings = report.settings
    msg.divider("Settings")
    width = settings.max_span_width if settings.max_span_width is not None else "none"
    overlap = f", entity_overlap: {settings.entity_overlap!r}" if settings.entity_overlap else ""
    msg.text(f"spans_key: {settings.spans_key!r}, max_span_width: {width}{overlap}, sentences: {settings.sentences}")
    show = {GOOD: msg.good, INFO: msg.info, WARN: msg.warn, FAIL: msg.fail}
    for section in SECTIONS:
        in_section = [f for f in found if f.section == section]
        if in_section:
            msg.divider(section)
        for finding in in_section:
            show[finding.level](finding.text)
            for example in finding.examples:
                msg.text(f"    {example}")
    msg.divider("Summary")
    counts = {level: sum(f.level == level for f in found) for level in (GOOD, WARN, FAIL)}
    if counts[GOOD]:
        msg.good(f"{counts[GOOD]} {'check' if counts[GOOD] == 1 else 'checks'} passed")
    if counts[WARN]:
        msg.warn(f"{counts[WARN]} {'warning' if counts[WARN] == 1 else 'warnings'}")
    if counts[FAIL]:
        msg.fail(f"{counts[FAIL]} {'error' if counts[FAIL] == 1 else 'errors'}")
    return counts[FAIL]
