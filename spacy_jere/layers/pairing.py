"""Which spans become pairs: the one pair rule, used for the negative pairs of training
(over gold entities, on the host) and for the candidate pairs of inference (over the
predicted entities, on the device): ordered pairs of distinct, non-overlapping spans of
one sentence. Plus the flat-decoding rule for overlapping predicted entities."""
from typing import Tuple

import torch


def sentence_pairs(spans: torch.Tensor, sentence_ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(heads, tails) row indices of ``spans``: every ordered pair of distinct,
    non-overlapping spans with the same sentence id. Ordered by sentence (stable), then
    head, then tail."""
    empty = torch.zeros((0,), dtype=torch.long, device=spans.device)
    if spans.shape[0] < 2:
        return empty, empty
    # Group spans by sentence: each span pairs with every member of its group.
    rows = torch.argsort(sentence_ids, stable=True)
    _, group_sizes = torch.unique_consecutive(sentence_ids[rows], return_counts=True)
    group_starts = torch.cumsum(group_sizes, 0) - group_sizes
    sizes = torch.repeat_interleave(group_sizes, group_sizes)
    starts = torch.repeat_interleave(group_starts, group_sizes)
    head_pos = torch.repeat_interleave(torch.arange(rows.numel(), device=spans.device), sizes)
    block_starts = torch.repeat_interleave(torch.cumsum(sizes, 0) - sizes, sizes)
    tail_pos = torch.repeat_interleave(starts, sizes) + (
        torch.arange(head_pos.numel(), device=spans.device) - block_starts
    )
    heads, tails = rows[head_pos], rows[tail_pos]
    h, t = spans[heads], spans[tails]
    disjoint = (h[:, 1] <= t[:, 0]) | (t[:, 1] <= h[:, 0])
    return heads[disjoint], tails[disjoint]


def candidate_pairs(
    is_entity: torch.Tensor,
    confidence: torch.Tensor,
    spans: torch.Tensor,
    span_docs: torch.Tensor,
    span_sentence_ids: torch.Tensor,
    max_pairs: int,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The pairs (``sentence_pairs``) of the predicted entities, as (P, 2) span rows.
    With ``max_pairs`` > 0, a doc keeps its ``max_pairs`` pairs whose entities are most
    confident; the count of the others is returned."""
    entities = torch.nonzero(is_entity, as_tuple=False).flatten()
    zero = torch.zeros((), dtype=torch.long, device=spans.device)
    heads, tails = sentence_pairs(spans[entities], span_sentence_ids[entities])
    heads, tails = entities[heads], entities[tails]
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
