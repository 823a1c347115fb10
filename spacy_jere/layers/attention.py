"""Attention of queries over token ranges (Ji et al. 2020, section 3.3): query q attends over
tokens [starts[q], ends[q]) of the batch's flat token table. Two equal computations:
- ragged (each range its own, e.g. the context between two entities): memory grows with
  the (query, token) entries times ``attention_width`` (``general``: the token width);
- shared ranges (many queries per range, e.g. every span over its sentence): queries and
  range tokens padded per range, scores as (range, head, query, token) blocks, one
  matrix product each; memory grows with those blocks, never with queries x tokens x
  width."""
import math

import torch
from torch import nn

from .ragged import ragged_positions, segment_softmax, weighted_sum

VARIANTS = ("multihead", "additive", "dot", "general")


def check_variant(variant: str, where: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"{where} must be one of {', '.join(VARIANTS)}, got {variant!r}")


# Queries per distinct range from which the padded per-range product is used.
SHARED_RANGE_FACTOR = 4


def ffnn(n_in: int, n_out: int) -> nn.Module:
    """The paper's 'multi-layers FFNN' used to bring Q and K to one width (2 layers)."""
    return nn.Sequential(nn.Linear(n_in, n_out), nn.ReLU(), nn.Linear(n_out, n_out))


class RangeAttention(nn.Module):
    """Score functions (Q query, K key):
    - multihead: Q' * K' / sqrt(d) per head (Q', K' from FFNNs), ``n_heads`` heads, each
      pooling its own slice of the token vectors;
    - additive: v . tanh(W1 Q + W2 K) (Bahdanau; the paper writes W1 Q + W2 K, without
      the tanh and v that make it a scalar score);
    - dot: w . (Q' * K') (Q', K' from FFNNs);
    - general: Q W K.
    Values are the token vectors, so the output has the token width."""

    def __init__(self, query_width: int, token_width: int, variant: str = "multihead",
                 attention_width: int = 128, n_heads: int = 8):
        super().__init__()
        check_variant(variant, "attention variant")
        if variant == "multihead" and (attention_width % n_heads or token_width % n_heads):
            raise ValueError(
                f"multihead attention: attention_width ({attention_width}) and token width "
                f"({token_width}) must be multiples of n_heads ({n_heads})"
            )
        self.variant = variant
        self.n_heads = n_heads if variant == "multihead" else 1
        self.output_width = token_width
        if variant in ("multihead", "dot"):
            self.query_proj = ffnn(query_width, attention_width)
            self.key_proj = ffnn(token_width, attention_width)
            if variant == "dot":
                self.w = nn.Linear(attention_width, 1, bias=False)
        elif variant == "additive":
            self.query_proj = nn.Linear(query_width, attention_width)
            self.key_proj = nn.Linear(token_width, attention_width, bias=False)
            self.w = nn.Linear(attention_width, 1, bias=False)
        else:
            self.query_proj = nn.Linear(query_width, token_width, bias=False)  # Q W

    def scores(self, queries, tokens, rows, cols) -> torch.Tensor:
        """(entries, heads) scores."""
        q = self.query_proj(queries)
        if self.variant == "general":
            return (q[rows] * tokens[cols]).sum(-1, keepdim=True)
        k = self.key_proj(tokens)
        if self.variant == "additive":
            return self.w(torch.tanh(q[rows] + k[cols]))
        if self.variant == "dot":
            return self.w(q[rows] * k[cols])
        head_width = q.shape[-1] // self.n_heads
        products = (q[rows] * k[cols]).view(-1, self.n_heads, head_width)
        return products.sum(-1) / math.sqrt(head_width)

    def forward(
        self, queries: torch.Tensor, tokens: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor
    ) -> torch.Tensor:
        n_queries = queries.shape[0]
        if n_queries == 0:
            return tokens.new_zeros((0, self.output_width))
        if self.variant == "additive":  # its scores need every (query, token) pair
            return self._ragged(queries, tokens, starts, ends)
        ranges, range_of_query = torch.unique(torch.stack([starts, ends], 1), dim=0, return_inverse=True)
        # Many queries over few ranges (every span of a sentence over that sentence): one
        # padded matrix product per range instead of gathering each (query, token) row.
        if ranges.shape[0] * SHARED_RANGE_FACTOR <= n_queries:
            return self._shared_ranges(queries, tokens, ranges, range_of_query)
        return self._ragged(queries, tokens, starts, ends)

    def _ragged(self, queries, tokens, starts, ends) -> torch.Tensor:
        n_queries = queries.shape[0]
        rows, cols = ragged_positions(starts, ends)
        if rows.numel() == 0:
            return tokens.new_zeros((n_queries, self.output_width))
        scores = self.scores(queries, tokens, rows, cols)
        value_slices = tokens.view(tokens.shape[0], self.n_heads, -1)
        pooled = [
            weighted_sum(segment_softmax(scores[:, h], rows, n_queries), rows, cols, n_queries, value_slices[:, h])
            for h in range(self.n_heads)  # a loop over heads, not over queries
        ]
        return torch.cat(pooled, dim=-1)

    def _shared_ranges(self, queries, tokens, ranges, range_of_query) -> torch.Tensor:
        """The same scores as ``scores`` (multihead, dot, general), as (range, head,
        query slot, token slot) blocks: queries and range tokens padded per range."""
        n_ranges, n_queries = ranges.shape[0], queries.shape[0]
        lengths = (ranges[:, 1] - ranges[:, 0]).clamp(min=0)
        max_length = max(int(lengths.max()), 1)
        offsets = torch.arange(max_length, device=tokens.device)
        token_mask = offsets[None, :] < lengths[:, None]  # (R, L)
        token_index = torch.where(
            token_mask, ranges[:, :1] + offsets[None, :], torch.zeros_like(token_mask, dtype=ranges.dtype)
        )
        per_range = torch.bincount(range_of_query, minlength=n_ranges)
        order = torch.argsort(range_of_query, stable=True)
        sorted_range = range_of_query[order]
        slot = torch.arange(n_queries, device=tokens.device) - (torch.cumsum(per_range, 0) - per_range)[sorted_range]
        max_slots = int(per_range.max())

        q = self.query_proj(queries)
        keys = tokens if self.variant == "general" else self.key_proj(tokens)
        if self.variant == "dot":
            q = q * self.w.weight[0]  # w . (Q' * K') = (w * Q') . K'
        n_heads = self.n_heads  # 1 but for multihead
        head_width = q.shape[-1] // n_heads
        q_padded = q.new_zeros((n_ranges, max_slots, q.shape[-1]))
        q_padded[sorted_range, slot] = q[order]
        q_padded = q_padded.view(n_ranges, max_slots, n_heads, head_width).transpose(1, 2)  # (R, H, N, d)
        k_padded = keys[token_index].view(n_ranges, max_length, n_heads, head_width).transpose(1, 2)  # (R, H, L, d)
        scores = q_padded @ k_padded.transpose(-1, -2)  # (R, H, N, L)
        if self.variant == "multihead":
            scores = scores / math.sqrt(head_width)
        # An empty range keeps its (padding) scores, so its softmax stays finite in both
        # directions, and then gets zero weights: zeros out, as in the ragged path.
        empty = (lengths == 0)[:, None]
        scores = scores.masked_fill(~(token_mask | empty)[:, None, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1).masked_fill(empty[:, :, None, None], 0.0)
        values = tokens[token_index].view(n_ranges, max_length, n_heads, -1).transpose(1, 2)  # (R, H, L, d_v)
        pooled = (weights @ values).transpose(1, 2).reshape(n_ranges, max_slots, self.output_width)
        out = tokens.new_zeros((n_queries, self.output_width))
        out[order] = pooled[sorted_range, slot]
        return out
