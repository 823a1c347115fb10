"""Span encoders: a span's representation and its context, from the batch's flat token
table. Built by the registered architectures in ``spacy_jere.architectures`` once the
token width and the suggester's widest span are known; each tells its output widths so
the head can size its classifiers. The settings' defaults live in those registered
functions; the constructors take them explicitly and validate them."""
from typing import Optional, Tuple

import torch
from torch import nn

from .attention import RangeAttention, check_variant
from .fusion import GatedFusion, check_fusion, fused_embedding
from .pooling import RangeMaxTable
from .ragged import ragged_positions, segment_softmax, weighted_sum


def _check_positive(where: str, **settings) -> None:
    for name, value in settings.items():
        if value < 1:
            raise ValueError(f"{where}: {name} must be >= 1, got {value}")


class MaxPoolSpanEncoder(nn.Module):
    """SpERT: span = [max-pooled tokens; width embedding]; context = max-pooled sentence
    (SpERT uses the [CLS] vector; a listener gives token vectors only, and a pooled
    sentence also suits docs of several sentences).

    fusion = "gated" (Ji et al. 2022, eq. 5): span = gated sum of the pooled tokens, the
    context and a width embedding of the token width, and no separate context."""

    @staticmethod
    def validate(width_embedding_size: int, fusion: str, fused_embedding_std: float = 1.0) -> None:
        _check_positive("MaxPoolSpanEncoder", width_embedding_size=width_embedding_size)
        check_fusion(fusion, "MaxPoolSpanEncoder", fused_embedding_std)

    def __init__(self, token_width: int, max_span_width: int, *, width_embedding_size: int, fusion: str,
                 fused_embedding_std: float = 1.0):
        super().__init__()
        self.validate(width_embedding_size, fusion, fused_embedding_std)
        self.max_span_width = max_span_width
        self.gated = GatedFusion(token_width) if fusion == "gated" else None
        if self.gated is not None:
            width_embedding_size = token_width
        # One extra bucket for gold spans wider than the suggester's widest (training).
        if self.gated is not None:
            self.width_embedding = fused_embedding(max_span_width + 2, width_embedding_size, fused_embedding_std)
        else:
            self.width_embedding = nn.Embedding(max_span_width + 2, width_embedding_size)
        self.output_width = token_width if self.gated is not None else token_width + width_embedding_size
        self.context_width = 0 if self.gated is not None else token_width
        # The width embedding's columns at the end of a span representation (none when fused).
        self.width_columns = 0 if self.gated is not None else width_embedding_size

    def forward(
        self, table: RangeMaxTable, spans: torch.Tensor, span_sentences: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        pooled = table.query(spans[:, 0], spans[:, 1])
        widths = (spans[:, 1] - spans[:, 0]).clamp(max=self.max_span_width + 1)
        context = table.query(span_sentences[:, 0], span_sentences[:, 1])
        if self.gated is not None:
            fused = self.gated([pooled, context, self.width_embedding(widths)])
            return fused, context.new_zeros((context.shape[0], 0))
        span_reps = torch.cat([pooled, self.width_embedding(widths)], dim=-1)
        return span_reps, context


class AttentionSpanEncoder(nn.Module):
    """Ji et al. 2020, span-specific part: span = [F_s; H_s; width embedding], where F_s
    is MLP attention over the span's tokens (eq. 2a-2c) and H_s the first and last token
    (eq. 1; a one-token span repeats its token).

    Context: with ``sentence_attention`` (a variant of section 3.3) the span-specific
    F_s attends over its sentence's tokens (eq. 3); without, the max-pooled sentence,
    as in the baseline. Decisions the paper leaves open: MLP_k is Linear-ReLU-Linear
    with ``attention_hidden`` units; the sentence is the span's own sentence, without
    [CLS] (a listener gives word vectors only). ``head_tail = false`` drops H_s."""

    @staticmethod
    def validate(width_embedding_size: int, attention_hidden: int, head_tail: bool,
                 sentence_attention: Optional[str], attention_width: int, n_heads: int) -> None:
        _check_positive("AttentionSpanEncoder", width_embedding_size=width_embedding_size,
                        attention_hidden=attention_hidden, attention_width=attention_width, n_heads=n_heads)
        if sentence_attention is not None:
            check_variant(sentence_attention, "AttentionSpanEncoder.sentence_attention")

    def __init__(self, token_width: int, max_span_width: int, *, width_embedding_size: int, attention_hidden: int,
                 head_tail: bool, sentence_attention: Optional[str], attention_width: int, n_heads: int):
        super().__init__()
        self.validate(width_embedding_size, attention_hidden, head_tail, sentence_attention, attention_width, n_heads)
        self.max_span_width = max_span_width
        self.head_tail = head_tail
        self.sentence_attention = None
        if sentence_attention:
            self.sentence_attention = RangeAttention(
                token_width, token_width, sentence_attention, attention_width, n_heads
            )
        self.token_scorer = nn.Sequential(
            nn.Linear(token_width, attention_hidden), nn.ReLU(), nn.Linear(attention_hidden, 1)
        )
        self.width_embedding = nn.Embedding(max_span_width + 2, width_embedding_size)
        self.output_width = token_width * (3 if head_tail else 1) + width_embedding_size
        self.context_width = token_width
        self.width_columns = width_embedding_size

    def forward(
        self, table: RangeMaxTable, spans: torch.Tensor, span_sentences: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        tokens = table.tokens
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
