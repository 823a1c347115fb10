"""Span and relation representations (SpERT baseline).

Each class is built by a registered factory (see ``spacy_jere.architectures``) once
the token width is known, and tells its output width so classifiers can be sized.
"""
from typing import Optional, Tuple

import torch
from torch import nn

from .attention import RangeAttention, ffnn
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

    Context: with ``sentence_attention`` (a variant of section 3.3) the span-specific
    F_s attends over its sentence's tokens (eq. 3); without, the max-pooled sentence,
    as in the baseline. Decisions the paper leaves open: MLP_k is Linear-ReLU-Linear
    with ``attention_hidden`` units; the sentence is the span's own sentence, without
    [CLS] (a listener gives word vectors only). ``head_tail = false`` drops H_s."""

    def __init__(
        self,
        token_width: int,
        max_span_width: int,
        width_embedding_size: int = 25,
        attention_hidden: int = 150,
        head_tail: bool = True,
        sentence_attention: Optional[str] = None,
        attention_width: int = 128,
        n_heads: int = 8,
    ):
        super().__init__()
        self.max_span_width = max_span_width
        self.head_tail = head_tail
        self.sentence_attention = None
        if sentence_attention:
            self.sentence_attention = RangeAttention(token_width, token_width, sentence_attention, attention_width, n_heads)
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
        specific = weighted_sum(weights, rows, cols, spans.shape[0], tokens)
        parts = [specific]
        if self.head_tail:
            parts += [tokens[spans[:, 0]], tokens[spans[:, 1] - 1]]
        widths = (spans[:, 1] - spans[:, 0]).clamp(max=self.max_span_width + 1)
        parts.append(self.width_embedding(widths))
        if self.sentence_attention is not None:
            context = self.sentence_attention(specific, tokens, span_sentences[:, 0], span_sentences[:, 1])
        else:
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
        span_sentences: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        heads, tails = spans[pairs[:, 0]], spans[pairs[:, 1]]
        between_start = torch.minimum(heads[:, 1], tails[:, 1])
        between_end = torch.maximum(heads[:, 0], tails[:, 0])
        context = table.query(between_start, between_end)
        return torch.cat([span_reps[pairs[:, 0]], span_reps[pairs[:, 1]], context], dim=-1)


class AttentionRelationEncoder(nn.Module):
    """Paper 001, eq. 6-9: pair = [FFNN(head); FFNN(tail); FFNN_F(F_r); FFNN_T(T_r)],
    where H_r = [FFNN(head); FFNN(tail)] attends over the tokens between the spans
    (F_r, eq. 7; zeros when adjacent) and over the sentence (T_r, eq. 8).

    Decisions: the span FFNN is shared by head and tail and, like FFNN_F and FFNN_T,
    has ``reduce_width`` outputs (the paper does not give widths); the sentence is the
    head's sentence (pairs never cross sentences at inference). ``local`` and
    ``sentence`` switch the two contexts on and off for ablations; with ``local`` off
    the between-tokens are max-pooled, as in SpERT."""

    def __init__(self, token_width: int, span_width: int, attention: str = "multihead",
                 reduce_width: int = 256, attention_width: int = 128, n_heads: int = 8,
                 local: bool = True, sentence: bool = True):
        super().__init__()
        self.span_reduce = ffnn(span_width, reduce_width)
        query_width = 2 * reduce_width
        self.local = RangeAttention(query_width, token_width, attention, attention_width, n_heads) if local else None
        self.sentence = RangeAttention(query_width, token_width, attention, attention_width, n_heads) if sentence else None
        self.local_reduce = ffnn(token_width, reduce_width)
        self.sentence_reduce = ffnn(token_width, reduce_width) if sentence else None
        self.output_width = query_width + reduce_width * (2 if sentence else 1)

    def forward(self, table: RangeMaxTable, span_reps: torch.Tensor, spans: torch.Tensor,
                pairs: torch.Tensor, span_sentences: Optional[torch.Tensor] = None) -> torch.Tensor:
        tokens = table.table[: table.n_tokens]
        reduced = self.span_reduce(span_reps)
        query = torch.cat([reduced[pairs[:, 0]], reduced[pairs[:, 1]]], dim=-1)
        heads, tails = spans[pairs[:, 0]], spans[pairs[:, 1]]
        between_start = torch.minimum(heads[:, 1], tails[:, 1])
        between_end = torch.maximum(heads[:, 0], tails[:, 0])
        if self.local is not None:
            local = self.local(query, tokens, between_start, between_end)
        else:
            local = table.query(between_start, between_end)
        parts = [query, self.local_reduce(local)]
        if self.sentence is not None:
            if span_sentences is None:
                raise ValueError("AttentionRelationEncoder needs the spans' sentences")
            sents = span_sentences[pairs[:, 0]]
            parts.append(self.sentence_reduce(self.sentence(query, tokens, sents[:, 0], sents[:, 1])))
        return torch.cat(parts, dim=-1)
