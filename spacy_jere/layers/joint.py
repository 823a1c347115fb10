"""The joint span/relation network: one batch of docs in, span logits and relation
logits out. In training the pairs to classify are given; at inference they are built
here from the predicted entities, so the whole batch stays on the device."""
from typing import Callable, Optional, Tuple

import torch
from torch import nn

from .pooling import RangeMaxTable

ModuleFactory = Callable[..., nn.Module]


class SpanRelationNet(nn.Module):
    def __init__(
        self,
        token_width: int,
        n_entity_classes: int,
        n_relation_labels: int,
        max_span_width: int,
        span_encoder: ModuleFactory,
        relation_encoder: ModuleFactory,
        span_classifier: ModuleFactory,
        relation_classifier: ModuleFactory,
        two_phase: bool = False,
    ):
        super().__init__()
        self.two_phase = two_phase
        self.span_encoder = span_encoder(token_width=token_width, max_span_width=max_span_width)
        span_width = self.span_encoder.output_width
        self.relation_encoder = relation_encoder(
            token_width=token_width, span_width=span_width, n_entity_classes=n_entity_classes
        )
        span_features = span_width + self.span_encoder.context_width
        relation_features = self.relation_encoder.output_width
        if two_phase:
            # Paper 004: binary classifiers (phase one) and typing classifiers (phase two).
            self.span_classifier = span_classifier(n_in=span_features, n_out=1)
            self.span_typer = span_classifier(n_in=span_features, n_out=n_entity_classes - 1)
            self.relation_classifier = relation_classifier(n_in=relation_features, n_out=1)
            self.relation_typer = relation_classifier(n_in=relation_features, n_out=max(n_relation_labels, 1))
        else:
            self.span_classifier = span_classifier(n_in=span_features, n_out=n_entity_classes)
            self.relation_classifier = relation_classifier(n_in=relation_features, n_out=max(n_relation_labels, 1))
        self.n_relation_labels = n_relation_labels

    def forward(
        self,
        tokens: torch.Tensor,
        spans: torch.Tensor,
        span_sentences: torch.Tensor,
        span_docs: torch.Tensor,
        span_sentence_ids: torch.Tensor,
        pairs: Optional[torch.Tensor] = None,
        max_pairs: int = 0,
        span_types: Optional[torch.Tensor] = None,
        flat_entities: bool = False,
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns span logits (S, E+1), pairs (P, 2), relation logits (P, R), the
        number of candidate pairs dropped by ``max_pairs`` and the spans kept as
        entities (S,). ``span_types`` (training): the gold class of each span, for
        relation features that use entity types; at inference the predicted classes
        are used. ``flat_entities`` (inference): of overlapping predicted entities only
        the most confident are kept, and pairs are built from those."""
        longest = 1
        if spans.shape[0]:
            longest = int((span_sentences[:, 1] - span_sentences[:, 0]).max())
        table = RangeMaxTable(tokens, max_range=max(longest, 1))
        span_reps, context = self.span_encoder(table, spans, span_sentences)
        span_features = torch.cat([context, span_reps], dim=-1)
        if self.two_phase:
            span_logits = torch.cat([self.span_classifier(span_features), self.span_typer(span_features)], dim=-1)
            decided = span_logits.detach().float()
            is_entity = decided[:, 0] > 0
            confidence = torch.sigmoid(decided[:, 0])
            predicted = torch.where(is_entity, decided[:, 1:].argmax(-1) + 1, torch.zeros_like(is_entity, dtype=torch.long))
        else:
            span_logits = self.span_classifier(span_features)
            confidence, predicted = span_logits.detach().float().softmax(-1).max(-1)
            is_entity = predicted > 0
        if span_types is None:
            span_types = predicted
        n_dropped = torch.zeros((), dtype=torch.long, device=tokens.device)
        if pairs is None and flat_entities:
            is_entity = suppress_overlaps(spans, is_entity, confidence)
        if pairs is None:
            pairs, n_dropped = candidate_pairs(
                is_entity, confidence, spans, span_docs, span_sentence_ids, max_pairs
            )
        if pairs.shape[0] == 0 or self.n_relation_labels == 0:
            width = self.n_relation_labels + (1 if self.two_phase and self.n_relation_labels else 0)
            rel_logits = span_logits.new_zeros((pairs.shape[0], width))
        elif self.two_phase:
            # Phase one sees distance-only global features (types all 0); the encoder
            # adds the typed ones for phase two (its ``phase_two``). An encoder that
            # reads no types gives both phases the same representation, computed once.
            untyped = self.relation_encoder(table, span_reps, spans, pairs, span_sentences, torch.zeros_like(span_types))
            typed = untyped
            if getattr(self.relation_encoder, "uses_entity_types", False):
                typed = self.relation_encoder.phase_two(untyped, table, span_reps, spans, pairs, span_sentences, span_types)
            rel_logits = torch.cat([self.relation_classifier(untyped), self.relation_typer(typed)], dim=-1)
        else:
            rel_logits = self.relation_classifier(
                self.relation_encoder(table, span_reps, spans, pairs, span_sentences, span_types)
            )
        return span_logits, pairs, rel_logits, n_dropped, is_entity


def suppress_overlaps(spans: torch.Tensor, is_entity: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
    """Greedy flat decoding: an entity is kept unless it overlaps a more confident
    kept one (ties: the earlier span). Spans of different docs never overlap (their
    positions are global). Rounds, each over the entities x entities overlap matrix,
    settle at least the best undecided entity, so they stop after at most as many
    rounds as the longest chain of overlaps."""
    entities = torch.nonzero(is_entity, as_tuple=False).flatten()
    if entities.numel() < 2:
        return is_entity
    ents = spans[entities]
    score = confidence[entities]
    order = torch.argsort(score, descending=True, stable=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=spans.device)
    overlaps = (ents[:, None, 0] < ents[None, :, 1]) & (ents[None, :, 0] < ents[:, None, 1])
    outranked_by = overlaps & (rank[None, :] < rank[:, None])  # [i, j]: j overlaps i and ranks higher
    undecided = torch.ones_like(score, dtype=torch.bool)
    kept = torch.zeros_like(undecided)
    while bool(undecided.any()):
        beaten = (outranked_by & kept[None, :]).any(1)
        waiting = (outranked_by & undecided[None, :]).any(1)
        kept = kept | (undecided & ~beaten & ~waiting)
        undecided = undecided & ~beaten & waiting
    result = is_entity.clone()
    result[entities[~kept]] = False
    return result


def candidate_pairs(
    is_entity: torch.Tensor,
    confidence: torch.Tensor,
    spans: torch.Tensor,
    span_docs: torch.Tensor,
    span_sentence_ids: torch.Tensor,
    max_pairs: int,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Ordered pairs of distinct, non-overlapping predicted entities of one sentence.
    With ``max_pairs`` > 0, a doc keeps its ``max_pairs`` pairs whose entities are most
    confident; the count of the others is returned."""
    entities = torch.nonzero(is_entity, as_tuple=False).flatten()
    empty = torch.zeros((0, 2), dtype=torch.long, device=spans.device)
    zero = torch.zeros((), dtype=torch.long, device=spans.device)
    if entities.numel() < 2:
        return empty, zero
    # Group entities by sentence: each entity pairs with every member of its group.
    order = torch.argsort(span_sentence_ids[entities], stable=True)
    entities = entities[order]
    _, group_sizes = torch.unique_consecutive(span_sentence_ids[entities], return_counts=True)
    group_starts = torch.cumsum(group_sizes, 0) - group_sizes
    sizes = torch.repeat_interleave(group_sizes, group_sizes)
    starts = torch.repeat_interleave(group_starts, group_sizes)
    head_pos = torch.repeat_interleave(torch.arange(entities.numel(), device=spans.device), sizes)
    block_starts = torch.repeat_interleave(torch.cumsum(sizes, 0) - sizes, sizes)
    tail_pos = torch.repeat_interleave(starts, sizes) + (
        torch.arange(head_pos.numel(), device=spans.device) - block_starts
    )
    heads, tails = entities[head_pos], entities[tail_pos]
    h, t = spans[heads], spans[tails]
    disjoint = (h[:, 1] <= t[:, 0]) | (t[:, 1] <= h[:, 0])
    heads, tails = heads[disjoint], tails[disjoint]
    n_dropped = zero
    if max_pairs > 0 and heads.numel() > 0:
        pair_docs = span_docs[heads]
        strength = confidence[heads] * confidence[tails]
        by_strength = torch.argsort(strength, descending=True, stable=True)
        by_doc = by_strength[torch.argsort(pair_docs[by_strength], stable=True)]
        docs_sorted = pair_docs[by_doc]
        _, doc_sizes = torch.unique_consecutive(docs_sorted, return_counts=True)
        doc_starts = torch.repeat_interleave(torch.cumsum(doc_sizes, 0) - doc_sizes, doc_sizes)
        rank = torch.arange(by_doc.numel(), device=spans.device) - doc_starts
        keep = by_doc[rank < max_pairs]
        n_dropped = torch.tensor(heads.numel() - keep.numel(), device=spans.device)
        keep = torch.sort(keep).values
        heads, tails = heads[keep], tails[keep]
    return torch.stack([heads, tails], dim=1), n_dropped
