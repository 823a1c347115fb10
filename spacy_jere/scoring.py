"""Entity and relation P/R/F1, micro and macro, with per-type tables.

Spans are compared by character offsets, so a prediction whose tokenization differs
from the gold one is still scored correctly. An entity is right when its boundaries
and type match; a relation ("rel") when its type and both arguments' boundaries match;
"rel_strict" also needs both arguments' types (SpERT's "Rel+").
"""
from collections import Counter
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from spacy.training import Example
from spacy.util import registry

from .entity_sources import source_spans
from .relations import get_relations


def _prf(tp: int, fp: int, fn: int) -> Tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def _score_sets(prefix: str, pred: List[Tuple[Any, str]], gold: List[Tuple[Any, str]]) -> Dict[str, Any]:
    """pred/gold: (identity, type) items; an item is right when identity and type match."""
    pred_set, gold_set = set(pred), set(gold)
    tp_by, fp_by, fn_by = Counter(), Counter(), Counter()
    for item in pred_set:
        (tp_by if item in gold_set else fp_by)[item[1]] += 1
    for item in gold_set - pred_set:
        fn_by[item[1]] += 1
    types = sorted(set(tp_by) | set(fp_by) | set(fn_by))
    per_type = {}
    for t in types:
        p, r, f = _prf(tp_by[t], fp_by[t], fn_by[t])
        per_type[t] = {"p": p, "r": r, "f": f, "support": tp_by[t] + fn_by[t]}
    p, r, f = _prf(sum(tp_by.values()), sum(fp_by.values()), sum(fn_by.values()))
    n = len(types)
    return {
        f"{prefix}_p": p,
        f"{prefix}_r": r,
        f"{prefix}_f": f,
        f"{prefix}_macro_p": sum(v["p"] for v in per_type.values()) / n if n else 0.0,
        f"{prefix}_macro_r": sum(v["r"] for v in per_type.values()) / n if n else 0.0,
        f"{prefix}_macro_f": sum(v["f"] for v in per_type.values()) / n if n else 0.0,
        f"{prefix}_per_type": per_type,
    }


def _doc_items(doc, entity_source: str, doc_index: int, symmetric: Set[str]):
    entities = [((doc_index, s.start_char, s.end_char), s.label_) for s in source_spans(doc, entity_source)]
    rel, rel_strict = [], []
    for r in get_relations(doc):
        head = (r.head.start_char, r.head.end_char)
        tail = (r.tail.start_char, r.tail.end_char)
        head_typed, tail_typed = head + (r.head.label_,), tail + (r.tail.label_,)
        if r.label in symmetric:
            head, tail = sorted([head, tail])
            head_typed, tail_typed = sorted([head_typed, tail_typed])
        rel.append(((doc_index, head, tail), r.label))
        rel_strict.append(((doc_index, head_typed, tail_typed), r.label))
    return entities, rel, rel_strict


def score_span_relations(
    examples: Iterable[Example],
    spans_key: str = "entities",
    symmetric_relations: Iterable[str] = (),
    predicted_entities_from: Optional[str] = None,
    **kwargs,
) -> Dict[str, Any]:
    """Gold entities are read from ``doc.spans[spans_key]``; predicted ones from there
    too, or from ``predicted_entities_from`` ("ents" or a span group key) when another
    component found them."""
    symmetric = set(symmetric_relations)
    pred = {"ent": [], "rel": [], "rel_strict": []}
    gold = {"ent": [], "rel": [], "rel_strict": []}
    for i, eg in enumerate(examples):
        for target, doc, source in ((pred, eg.predicted, predicted_entities_from or spans_key),
                                    (gold, eg.reference, spans_key)):
            ents, rel, rel_strict = _doc_items(doc, source, i, symmetric)
            target["ent"] += ents
            target["rel"] += rel
            target["rel_strict"] += rel_strict
    scores: Dict[str, Any] = {}
    for prefix in ("ent", "rel", "rel_strict"):
        scores.update(_score_sets(prefix, pred[prefix], gold[prefix]))
    return scores


@registry.scorers("spacy_jere.span_relation_scorer.v1")
def make_span_relation_scorer(symmetric_relations: Optional[List[str]] = None):
    """symmetric_relations: relation types whose argument order is ignored when scoring
    (SpERT does this for types marked symmetric, e.g. SciERC's Compare, Conjunction)."""
    if symmetric_relations is None:
        symmetric_relations = []

    def scorer(examples: Iterable[Example], **kwargs) -> Dict[str, Any]:
        kwargs.setdefault("symmetric_relations", symmetric_relations)
        return score_span_relations(examples, **kwargs)

    return scorer
