"""Span and relation representations (SpERT baseline).

Each class is built by a registered factory (see ``spacy_jere.architectures``) once
the token width is known, and tells its output width so classifiers can be sized.
"""
from typing import Tuple

import torch
from torch import nn

from .pooling import RangeMaxTable


class MaxPoolSpanEncoder(nn.Module):
    """SpERT: span = [max-pooled tokens; width embedding]; context = max-pooled sentence
    (SpERT uses the [CLS] vector; a listener gives token vectors only, and a pooled
    sentence also suits docs of several sentences)."""

    def __init__(self, token_width: int, max_span_width: int, width_embedding_size: int = 25):
        super().__init__()
        self.max_span_width = max_span_width
        # One extra bucket for gold spans wider than the enumeration limit (training).
        self.width_embedding = nn.Embedding(max_span_width + 2, width_embedding_size)
        self.output_width = token_width + width_embedding_size
        self.context_width = token_width

    def forward(
        self, table: RangeMaxTable, spans: torch.Tensor, span_sentences: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        pooled = table.query(spans[:, 0], spans[:, 1])
        widths = (spans[:, 1] - spans[:, 0]).clamp(max=self.max_span_width + 1)
        span_reps = torch.cat([pooled, self.width_embedding(widths)], dim=-1)
        context = table.query(span_sentences[:, 0], span_sentences[:, 1])
        return span_reps, context


class SpERTRelationEncoder(nn.Module):
    """SpERT: pair = [head span; tail span; max-pooled tokens between them] (zeros
    when the spans are adjacent or overlap)."""

    def __init__(self, token_width: int, span_width: int):
        super().__init__()
        self.output_width = 2 * span_width + token_width

    def forward(
        self,
        table: RangeMaxTable,
        span_reps: torch.Tensor,
        spans: torch.Tensor,
        pairs: torch.Tensor,
    ) -> torch.Tensor:
        heads, tails = spans[pairs[:, 0]], spans[pairs[:, 1]]
        between_start = torch.minimum(heads[:, 1], tails[:, 1])
        between_end = torch.maximum(heads[:, 0], tails[:, 0])
        context = table.query(between_start, between_end)
        return torch.cat([span_reps[pairs[:, 0]], span_reps[pairs[:, 1]], context], dim=-1)
