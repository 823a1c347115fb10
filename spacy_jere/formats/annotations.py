"""Put entities and relations on a Doc the same way for every input format: exact
duplicates merged and counted, self-relations skipped and counted, relations across
sentences kept and counted."""
from typing import Dict, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span

from ..relations import Relation, set_relations
from .sentences import sentence_ids
from .stats import ConversionStats

# (token start, token end exclusive, label)
EntitySpec = Tuple[int, int, str]
# (head, tail, label); head and tail index the entity list
RelationSpec = Tuple[int, int, str]

SELF_RELATION = "relation whose head and tail are the same span and type"


def annotate(
    doc: Doc,
    entities: Sequence[EntitySpec],
    relations: Sequence[RelationSpec],
    spans_key: str,
    stats: ConversionStats,
    where: Optional[str] = None,
) -> None:
    spans: List[Span] = []
    index_of: Dict[EntitySpec, int] = {}
    entity_index: List[int] = []
    for start, end, label in entities:
        key = (start, end, label)
        if key in index_of:
            stats.merged_duplicate_entities += 1
        else:
            index_of[key] = len(spans)
            spans.append(Span(doc, start, end, label=label))
            stats.entity_types[label] += 1
        entity_index.append(index_of[key])
    doc.spans[spans_key] = spans
    sents = sentence_ids(doc)
    kept: List[Relation] = []
    seen = set()
    for head, tail, label in relations:
        h, t = entity_index[head], entity_index[tail]
        if h == t:
            stats.skip(SELF_RELATION, where)
            continue
        if (h, t, label) in seen:
            stats.merged_duplicate_relations += 1
            continue
        seen.add((h, t, label))
        kept.append(Relation(spans[h], spans[t], label))
        stats.relation_types[label] += 1
        if sents[spans[h].start] != sents[spans[t].start]:
            stats.cross_sentence_relations += 1
    set_relations(doc, kept)
    stats.docs += 1
    stats.tokens += len(doc)
    stats.sentences += int(sents[-1]) + 1 if len(doc) else 0
    stats.entities += len(spans)
    stats.relations += len(kept)
