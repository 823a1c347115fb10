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


def tokens_between(spans: torch.Tensor, pairs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """[start, end) of the tokens between each pair's spans; empty (start >= end) when
    the spans are adjacent or overlap."""
    heads, tails = spans[pairs[:, 0]], spans[pairs[:, 1]]
    return torch.minimum(heads[:, 1], tails[:, 1]), torch.maximum(heads[:, 0], tails[:, 0])


class GatedFusion(nn.Module):
    """Paper 004, eq. 5a-5c: a softmax-weighted sum of same-width parts, the weight of
    each part a scalar score W1 . E_o + b1 (W1 and b1 shared by the parts).

    ``n_projected`` > 0 first maps each of that many parts by its own linear layer
    (our addition): a plain weighted sum is the same for (head, tail) and (tail,
    head), so a relation representation fused as in eq. 5 cannot tell direction."""

    def __init__(self, width: int, n_projected: int = 0):
        super().__init__()
        self.gate = nn.Linear(width, 1)
        self.projections = nn.ModuleList(nn.Linear(width, width) for _ in range(n_projected))

    def forward(self, parts):
        if len(self.projections):
            if len(parts) != len(self.projections):
                raise ValueError(f"GatedFusion: built for {len(self.projections)} parts, got {len(parts)}")
            parts = [project(part) for project, part in zip(self.projections, parts)]
        stacked = torch.stack(parts, dim=1)  # (rows, parts, width)
        weights = torch.softmax(self.gate(stacked).squeeze(-1), dim=-1)
        return (weights.unsqueeze(-1) * stacked).sum(1)


class MaxPoolSpanEncoder(nn.Module):
    """SpERT: span = [max-pooled tokens; width embedding]; context = max-pooled sentence
    (SpERT uses the [CLS] vector; a listener gives token vectors only, and a pooled
    sentence also suits docs of several sentences).

    fusion = "gated" (paper 004, eq. 5): span = gated sum of the pooled tokens, the
    context and a width embedding of the token width, and no separate context."""

    def __init__(self, token_width: int, max_span_width: int, width_embedding_size: int = 25, fusion: str = "concat"):
        super().__init__()
        self.max_span_width = max_span_width
        self.gated = GatedFusion(token_width) if fusion == "gated" else None
        if self.gated is not None:
            width_embedding_size = token_width
        # One extra bucket for gold spans wider than the enumeration limit (training).
        self.width_embedding = nn.Embedding(max_span_width + 2, width_embedding_size)
        self.output_width = token_width if self.gated is not None else token_width + width_embedding_size
        self.context_width = 0 if self.gated is not None else token_width

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


PHASE_TWO_FEATURES = ("replace", "gate")


def check_phase_two_features(phase_two_features: str, global_features: bool) -> None:
    if phase_two_features not in PHASE_TWO_FEATURES:
        raise ValueError(f"SpERTRelationEncoder: phase_two_features must be one of {PHASE_TWO_FEATURES}, "
                         f"got {phase_two_features!r}")
    if phase_two_features == "gate" and not global_features:
        raise ValueError("SpERTRelationEncoder: phase_two_features = \"gate\" gates the typed global features "
                         "into phase two: it needs global_features = true")


class SpERTRelationEncoder(nn.Module):
    """SpERT: pair = [head span; tail span; max-pooled tokens between them] (zeros
    when the spans are adjacent or overlap).

    Paper 004's global features (``global_features``): an embedding of (head type,
    tail type, entity distance), the distance being the number of tokens between the
    spans, clipped to 0..10 (section 3.2.2, eq. 13). Types are the gold ones in
    training and the predicted ones at inference. ``fusion = "gated"`` sums the parts
    with learned weights (eq. 5) instead of concatenating them; it needs span
    representations of the token width (a gated span encoder).

    ``role_projections`` (gated only, default on; our decision): each part passes its
    own linear layer before the gate. Without, as eq. 5 is written, the fused pair is
    symmetric in head and tail and directed relations cannot be told apart (on CoNLL04
    dev, seed 0, the two-phase model so built reached rel_strict F1 36.45).

    ``phase_two_features`` (two-phase models with global features): how phase two's
    pair representation gets the typed features. "replace" (our first decision): the
    pair is encoded again with the (head type, tail type, distance) embedding in place
    of phase one's distance-only one. "gate" (paper 004, 3.3.2): R'_r = eq. 5 gate over
    phase one's representation R_r and the typed embedding C_r; C_r passes a linear
    layer to R_r's width when the two differ (concat fusion; our addition)."""

    MAX_DISTANCE = 10

    def __init__(self, token_width: int, span_width: int, n_entity_classes: int = 1,
                 global_features: bool = False, feature_width: int = 25, fusion: str = "concat",
                 role_projections: bool = True, phase_two_features: str = "replace"):
        super().__init__()
        check_phase_two_features(phase_two_features, global_features)
        self.gated = None
        if fusion == "gated":
            self.gated = GatedFusion(token_width, n_projected=(4 if global_features else 3) if role_projections else 0)
        if self.gated is not None and span_width != token_width:
            raise ValueError(
                f"gated relation fusion needs span representations of the token width "
                f"({token_width}), got {span_width}: use a span encoder with fusion = \"gated\""
            )
        self.n_entity_classes = n_entity_classes
        self.uses_entity_types = global_features
        self.features = None
        if global_features:
            width = token_width if self.gated is not None else feature_width
            self.features = nn.Embedding(n_entity_classes * n_entity_classes * (self.MAX_DISTANCE + 1), width)
        if self.gated is not None:
            self.output_width = token_width
        else:
            self.output_width = 2 * span_width + token_width + (feature_width if global_features else 0)
        self.phase_two_gate = None
        if phase_two_features == "gate":
            self.phase_two_gate = GatedFusion(self.output_width)
            width = self.features.embedding_dim
            self.typed_projection = nn.Linear(width, self.output_width) if width != self.output_width else nn.Identity()

    def forward(
        self,
        table: RangeMaxTable,
        span_reps: torch.Tensor,
        spans: torch.Tensor,
        pairs: torch.Tensor,
        span_sentences: Optional[torch.Tensor] = None,
        span_types: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        between_start, between_end = tokens_between(spans, pairs)
        context = table.query(between_start, between_end)
        parts = [span_reps[pairs[:, 0]], span_reps[pairs[:, 1]], context]
        if self.features is not None:
            parts.append(self.global_features(pairs, (between_start, between_end), span_types))
        if self.gated is not None:
            return self.gated(parts)
        return torch.cat(parts, dim=-1)

    def global_features(self, pairs: torch.Tensor, between: Tuple[torch.Tensor, torch.Tensor],
                        span_types: Optional[torch.Tensor]) -> torch.Tensor:
        """Eq. 13's embedding of (head type, tail type, clipped distance), ``between``
        being ``tokens_between(spans, pairs)``; types all 0 give the distance-only features."""
        if span_types is None:
            raise ValueError("global relation features need the spans' entity types")
        between_start, between_end = between
        distance = (between_end - between_start).clamp(min=0, max=self.MAX_DISTANCE)
        n = self.n_entity_classes
        index = (span_types[pairs[:, 0]] * n + span_types[pairs[:, 1]]) * (self.MAX_DISTANCE + 1) + distance
        return self.features(index)

    def phase_two(self, phase_one: torch.Tensor, table: RangeMaxTable, span_reps: torch.Tensor, spans: torch.Tensor,
                  pairs: torch.Tensor, span_sentences: Optional[torch.Tensor], span_types: torch.Tensor) -> torch.Tensor:
        """Phase two's pair representation from phase one's (see ``phase_two_features``)."""
        if self.phase_two_gate is None:
            return self(table, span_reps, spans, pairs, span_sentences, span_types)
        typed = self.typed_projection(self.global_features(pairs, tokens_between(spans, pairs), span_types))
        return self.phase_two_gate([phase_one, typed])


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
                 local: bool = True, sentence: bool = True, n_entity_classes: int = 1):
        super().__init__()
        self.uses_entity_types = False
        self.span_reduce = ffnn(span_width, reduce_width)
        query_width = 2 * reduce_width
        self.local = RangeAttention(query_width, token_width, attention, attention_width, n_heads) if local else None
        self.sentence = RangeAttention(query_width, token_width, attention, attention_width, n_heads) if sentence else None
        self.local_reduce = ffnn(token_width, reduce_width)
        self.sentence_reduce = ffnn(token_width, reduce_width) if sentence else None
        self.output_width = query_width + reduce_width * (2 if sentence else 1)

    def forward(self, table: RangeMaxTable, span_reps: torch.Tensor, spans: torch.Tensor,
                pairs: torch.Tensor, span_sentences: Optional[torch.Tensor] = None,
                span_types: Optional[torch.Tensor] = None) -> torch.Tensor:
        tokens = table.tokens
        reduced = self.span_reduce(span_reps)
        query = torch.cat([reduced[pairs[:, 0]], reduced[pairs[:, 1]]], dim=-1)
        between_start, between_end = tokens_between(spans, pairs)
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
