"""Relation encoders: the representation of each (head, tail) pair of spans. Built by
the registered architectures in ``spacy_jere.architectures`` once the token width, the
span width and the number of entity classes are known. Every encoder takes
``(table, span_reps, spans, pairs, span_sentences, span_types)`` and tells its
``output_width`` and whether it reads entity types (``uses_entity_types``)."""
from typing import Optional, Tuple

import torch
from torch import nn

from .attention import RangeAttention, check_variant, ffnn
from .fusion import GatedFusion, check_fusion, fused_embedding
from .pooling import RangeMaxTable


def tokens_between(spans: torch.Tensor, pairs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """[start, end) of the tokens between each pair's spans; empty (start >= end) when
    the spans are adjacent or overlap."""
    heads, tails = spans[pairs[:, 0]], spans[pairs[:, 1]]
    return torch.minimum(heads[:, 1], tails[:, 1]), torch.maximum(heads[:, 0], tails[:, 0])


class SpERTRelationEncoder(nn.Module):
    """SpERT: pair = [head span; tail span; max-pooled tokens between them] (zeros
    when the spans are adjacent or overlap).

    PERA (Zhang et al., eq. 4): ``span_width_embedding = false`` leaves the spans' width
    embedding out of the pair (the width may tell the entity, not the relation).

    Ji et al. 2022's global features (``global_features``): an embedding of (head type,
    tail type, entity distance), the distance being the number of tokens between the
    spans, clipped to 0..10 (section 3.2.2, eq. 13). Types are the gold ones in training
    and the predicted ones at inference. ``fusion = "gated"`` sums the parts with learned
    weights (eq. 5) instead of concatenating them; it needs span representations of the
    token width (a gated span encoder).

    ``role_projections`` (gated only, our decision): each part passes its own linear
    layer before the gate. Without, as eq. 5 is written, the fused pair is symmetric in
    head and tail and directed relations cannot be told apart (on CoNLL04 dev, seed 0,
    Ji et al. 2022's full model so built reached rel_strict F1 36.45)."""

    MAX_DISTANCE = 10

    @staticmethod
    def validate(global_features: bool, feature_width: int, fusion: str, role_projections: bool,
                 span_width_embedding: bool, fused_embedding_std: float = 1.0) -> None:
        check_fusion(fusion, "SpERTRelationEncoder", fused_embedding_std)
        if feature_width < 1:
            raise ValueError(f"SpERTRelationEncoder: feature_width must be >= 1, got {feature_width}")
        if fusion == "gated" and not span_width_embedding:
            raise ValueError("SpERTRelationEncoder: span_width_embedding = false needs fusion = \"concat\" (a gated "
                             "span encoder fuses the width embedding into the span representation)")

    def __init__(self, token_width: int, span_width: int, n_entity_classes: int, *, global_features: bool,
                 feature_width: int, fusion: str, role_projections: bool, span_width_embedding: bool,
                 span_width_columns: int = 0, fused_embedding_std: float = 1.0):
        super().__init__()
        self.validate(global_features, feature_width, fusion, role_projections, span_width_embedding,
                      fused_embedding_std)
        # Columns of a span representation the pair reads: all, or all but the width embedding.
        self.span_columns = span_width if span_width_embedding else span_width - span_width_columns
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
            rows = n_entity_classes * n_entity_classes * (self.MAX_DISTANCE + 1)
            if self.gated is not None:
                self.features = fused_embedding(rows, token_width, fused_embedding_std)
            else:
                self.features = nn.Embedding(rows, feature_width)
        if self.gated is not None:
            self.output_width = token_width
        else:
            self.output_width = 2 * self.span_columns + token_width + (feature_width if global_features else 0)

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
        span_reps = span_reps[:, :self.span_columns]
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


class AttentionRelationEncoder(nn.Module):
    """Ji et al. 2020, eq. 6-9: pair = [FFNN(head); FFNN(tail); FFNN_F(F_r); FFNN_T(T_r)],
    where H_r = [FFNN(head); FFNN(tail)] attends over the tokens between the spans
    (F_r, eq. 7; zeros when adjacent) and over the sentence (T_r, eq. 8).

    Decisions: the span FFNN is shared by head and tail and, like FFNN_F and FFNN_T,
    has ``reduce_width`` outputs (the paper does not give widths); the sentence is the
    head's sentence (pairs never cross sentences). ``local`` and ``sentence`` switch the
    two contexts on and off for ablations; with ``local`` off the between-tokens are
    max-pooled, as in SpERT."""

    @staticmethod
    def validate(attention: str, reduce_width: int, attention_width: int, n_heads: int,
                 local: bool, sentence: bool) -> None:
        check_variant(attention, "AttentionRelationEncoder.attention")
        for name, value in (("reduce_width", reduce_width), ("attention_width", attention_width), ("n_heads", n_heads)):
            if value < 1:
                raise ValueError(f"AttentionRelationEncoder: {name} must be >= 1, got {value}")

    def __init__(self, token_width: int, span_width: int, n_entity_classes: int, *, attention: str,
                 reduce_width: int, attention_width: int, n_heads: int, local: bool, sentence: bool,
                 span_width_columns: int = 0):  # the span's width embedding stays in (PERA's option is SpERT's)
        super().__init__()
        self.validate(attention, reduce_width, attention_width, n_heads, local, sentence)
        self.uses_entity_types = False
        self.span_reduce = ffnn(span_width, reduce_width)
        query_width = 2 * reduce_width
        self.local = RangeAttention(query_width, token_width, attention, attention_width, n_heads) if local else None
        self.sentence = (
            RangeAttention(query_width, token_width, attention, attention_width, n_heads) if sentence else None
        )
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
