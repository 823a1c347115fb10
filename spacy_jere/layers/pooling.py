"""Max pooling over token ranges by index.

A sparse table holds the max over every window of 2**k tokens, so the max over any
range [start, end) is the max of two (overlapping) table rows: O(1) per span,
context or sentence, and nothing of size spans x sequence length is ever built.
"""
import torch


class RangeMaxTable:
    def __init__(self, tokens: torch.Tensor, max_range: int):
        """tokens: (N, H). max_range: the longest range that will be queried."""
        n_tokens = tokens.shape[0]
        self.n_tokens = n_tokens
        self.width = tokens.shape[1]
        levels = [tokens]
        k = 1
        while (1 << k) <= min(max_range, n_tokens):
            prev = levels[-1]
            half = 1 << (k - 1)
            level = torch.maximum(prev[:-half], prev[half:])
            # Pad to N rows so all levels stack into one table; the padding rows
            # are never read by a valid query.
            pad = level.new_zeros((n_tokens - level.shape[0], self.width))
            levels.append(torch.cat([level, pad], dim=0))
            k += 1
        self.table = torch.cat(levels, dim=0)  # (K * N, H); rows 0..N-1 are the tokens

    @property
    def tokens(self) -> torch.Tensor:
        """The token vectors themselves (the table's first level)."""
        return self.table[: self.n_tokens]

    def query(self, starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
        """Max over tokens [start, end) for each row; zeros where the range is empty."""
        lengths = ends - starts
        empty = lengths <= 0
        safe_lengths = lengths.clamp(min=1)
        # frexp: length = m * 2**e with m in [0.5, 1), so floor(log2(length)) = e - 1.
        level = torch.frexp(safe_lengths.to(torch.float32))[1].to(torch.long) - 1
        safe_starts = torch.where(empty, torch.zeros_like(starts), starts)
        left = level * self.n_tokens + safe_starts
        right = level * self.n_tokens + safe_starts + safe_lengths - (1 << level)
        pooled = torch.maximum(self.table[left], self.table[right])
        return pooled.masked_fill(empty.unsqueeze(-1), 0.0)
