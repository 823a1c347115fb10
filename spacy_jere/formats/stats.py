"""What a conversion produced, and what it left out or changed (with where)."""
from collections import Counter
from dataclasses import dataclass, field
from typing import List, Optional

MAX_NOTES_SHOWN = 20


@dataclass
class ConversionStats:
    docs: int = 0
    tokens: int = 0
    entities: int = 0
    relations: int = 0
    merged_duplicate_entities: int = 0
    merged_duplicate_relations: int = 0
    entity_types: Counter = field(default_factory=Counter)
    relation_types: Counter = field(default_factory=Counter)
    sentences: int = 0
    # Kept in the Doc, but the model pairs entities only within a sentence.
    cross_sentence_relations: int = 0
    # Character spans widened to whole tokens (BRAT, Prodigy without tokens).
    expanded_entities: int = 0
    # Sentence starts inside an entity, removed so that the entity stays in one sentence.
    sentence_starts_removed: int = 0
    # Valid input this converter does not use, by reason (never dropped without a count).
    skipped: Counter = field(default_factory=Counter)
    # Where each skip or change happened: "file line N (T3): ...".
    notes: List[str] = field(default_factory=list)

    def skip(self, reason: str, where: Optional[str] = None, count: int = 1) -> None:
        self.skipped[reason] += count
        if where:
            self.notes.append(f"{where}: {reason}")


def summary_lines(stats: ConversionStats) -> List[str]:
    """Human-readable report of a conversion, for the command line."""
    lines = [
        f"{stats.docs} docs, {stats.sentences} sentences, {stats.tokens} tokens, "
        f"{stats.entities} entities, {stats.relations} relations",
        f"  entity types: {dict(sorted(stats.entity_types.items()))}",
        f"  relation types: {dict(sorted(stats.relation_types.items()))}",
    ]
    if stats.merged_duplicate_entities:
        lines.append(f"  merged {stats.merged_duplicate_entities} duplicate entities (same span and type)")
    if stats.merged_duplicate_relations:
        lines.append(f"  merged {stats.merged_duplicate_relations} duplicate relations (same arguments and type)")
    if stats.expanded_entities:
        lines.append(f"  {stats.expanded_entities} entities did not start and end on token boundaries and were "
                     "widened to whole tokens (see the notes)")
    if stats.sentence_starts_removed:
        lines.append(f"  {stats.sentence_starts_removed} sentence boundaries fell inside an entity and were removed")
    if stats.cross_sentence_relations:
        lines.append(f"  {stats.cross_sentence_relations} relations join entities of different sentences: they are "
                     "kept, but the model pairs entities only within a sentence, so it cannot learn or predict them "
                     "(check the sentence splitting, e.g. --sentences lines or none)")
    for reason, count in sorted(stats.skipped.items()):
        lines.append(f"  skipped {count}: {reason}")
    if stats.notes:
        lines.append(f"  notes ({min(len(stats.notes), MAX_NOTES_SHOWN)} of {len(stats.notes)}):")
        lines += [f"    {note}" for note in stats.notes[:MAX_NOTES_SHOWN]]
    return lines
