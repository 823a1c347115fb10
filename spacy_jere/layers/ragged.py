"""Ragged (variable-length) token ranges as flat index lists, for attention pooling
without padding: entry e belongs to range ``rows[e]`` and reads token ``cols[e]``."""
from typing import Tuple

import torch


def ragged_positions(starts: torch.Tensor, ends: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    lengths = (ends - starts).clamp(min=0)
    rows = torch.repeat_interleave(torch.arange(len(starts), device=starts.device), lengths)
    first_entry = torch.cumsum(lengths, 0) - lengths
    cols = starts[rows] + torch.arange(rows.numel(), device=starts.device) - first_entry[rows]
    return rows, cols


def segment_softmax(scores: torch.Tensor, rows: torch.Tensor, n_rows: int) -> torch.Tensor:
    """Softmax of ``scores`` (E,) within each row."""
    row_max = scores.new_full((n_rows,), float("-inf")).scatter_reduce(0, rows, scores, "amax", include_self=True)
    exp = torch.exp(scores - row_max[rows].detach())
    totals = exp.new_zeros((n_rows,)).index_add(0, rows, exp)
    return exp / totals[rows]


def weighted_sum(
    weights: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, n_rows: int, values: torch.Tensor
) -> torch.Tensor:
    """sum_e weights[e] * values[cols[e]] per row, as a sparse x dense product, so no
    (entries x width) tensor is built. Empty rows give zeros."""
    matrix = torch.sparse_coo_tensor(
        torch.stack([rows, cols]), weights.to(values.dtype), (n_rows, values.shape[0]),
        device=values.device, check_invariants=False,
    )
    return torch.sparse.mm(matrix, values)
