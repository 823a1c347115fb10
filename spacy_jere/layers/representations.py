"""Span and relation representations (SpERT baseline).

Each class is built by a registered factory (see ``spacy_jere.architectures``) once
the token width is known, and tells its output width so classifiers can be sized.
"""
from typing import Tuple

import torch
from torch import nn

from .pooling import RangeMaxTable
from .ragged import ragged_positions, segment_softmax, weighted_sum


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


class AttentionSpanEncoder(nn.Module):
    """Ji et al. 2020 (paper 001), span-specific part: span = [F_s; H_s; width
    embedding], where F_s is MLP attention over the span's tokens (eq. 2a-2c) and H_s
    the first and last token (eq. 1; a one-token span repeats its token).

    Decisions the paper leaves open: MLP_k is Linear-ReLU-Linear with
    ``attention_hidden`` units; the context is the max-pooled sentence, as in the
    baseline (the paper's span-to-sentence attention, eq. 3, is a separate option).
    ``head_tail = false`` drops H_s, for ablations."""

    def __init__(
        self,
        token_width: int,
        max_span_width: int,
        width_embedding_size: int = 25,
        attention_hidden: int = 150,
        head_tail: bool = True,
    ):
        super().__init__()
        self.max_span_width = max_span_width
        self.head_tail = head_tail
        self.token_scorer = nn.Sequential(
            nn.Linear(token_width, attention_hidden), nn.ReLU(), nn.Linear(attention_hidden, 1)
        )
        self.width_embedding = nn.Embedding(max_span_width + 2, width_embedding_size)
        self.output_width = token_width * (3 if head_tail else 1) + width_embedding_size
        self.context_width = token_width

    def forward(
        self, table: RangeMaxTable, spans: torch.Tensor, span_sentences: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        tokens = table.table[: table.n_tokens]
        rows, cols = ragged_positions(spans[:, 0], spans[:, 1])
        token_scores = self.token_scorer(tokens).squeeze(-1)
        weights = segment_softmax(token_scores[cols], rows, spans.shape[0])
        parts = [weighted_sum(weights, rows, cols, spans.shape[0], tokens)]
        if self.head_tail:
            parts += [tokens[spans[:, 0]], tokens[spans[:, 1] - 1]]
        widths = (spans[:, 1] - spans[:, 0]).clamp(max=self.max_span_width + 1)
        parts.append(self.width_embedding(widths))
        context = table.query(span_sentences[:, 0], span_sentences[:, 1])
        return torch.cat(parts, dim=-1), context


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
