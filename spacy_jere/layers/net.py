"""The torch network: one batch of docs in, a dict of tensors out.

encode spans -> the head scores them and decides the entities -> pairs (given in
training; at inference built here from the decided entities, so the batch stays on the
device) -> the head scores the pairs (through the relation encoder) -> at inference the
head decodes relations. What the dict holds is listed in ``SpanRelationNet.forward``;
a head may add entries of its own (``HeadModule.extra_outputs``).

With a token stack (STSN's label attention, ``layers.label_attention``) the span encoder
reads the stack's entity tokens and the relation encoder its relation tokens instead of
the token vectors, and the stack's tag logits join the outputs.

With attention features (ASpERT's contribution degree, ``layers.attention_contribution``)
each span's features get one value per encoder layer and head, from the token-level
attention matrices of the batch's sentences (``sentence_attentions``), before the span
classifier (and the pruner, if any) reads them; the relation encoder does not see them
(eq. 4 keeps e(s)).

With position markers (PERA, ``layers.position_markers``) each span's representation gains
the [B] marker vector of its first token and the [E] of its last (``token_markers``, one
row per token like ``tokens``), before its width embedding (eq. 3): the span classifier,
the pruner and the relation encoder read them (eq. 4)."""
from typing import Dict, Optional

import torch
from torch import nn

from ..heads.base import EntityDecision, HeadDims
from .attention_contribution import contribution_degree
from .pairing import candidate_pairs
from .pooling import RangeMaxTable
from .position_markers import insert_markers, span_markers


class PairInputs:
    """What a relation encoder reads, for a head to pass on."""

    def __init__(self, table: RangeMaxTable, span_reps: torch.Tensor, spans: torch.Tensor,
                 pairs: torch.Tensor, span_sentences: torch.Tensor):
        self.table, self.span_reps, self.spans, self.pairs, self.span_sentences = (
            table, span_reps, spans, pairs, span_sentences)

    def encode(self, encoder: nn.Module, span_types: Optional[torch.Tensor]) -> torch.Tensor:
        return encoder(self.table, self.span_reps, self.spans, self.pairs, self.span_sentences, span_types)


class SpanRelationNet(nn.Module):
    def __init__(self, span_encoder: nn.Module, relation_encoder: nn.Module, head: nn.Module,
                 pruner: Optional[nn.Module] = None, token_stack: Optional[nn.Module] = None, attention=None,
                 markers=None):
        super().__init__()
        self.attention = attention  # the config's AttentionContribution (settings, no weights), or None
        self.markers = markers  # the config's PositionMarkers (no weights), or None
        self.span_encoder = span_encoder
        self.relation_encoder = relation_encoder
        self.head = head
        self.pruner = pruner
        self.token_stack = token_stack

    def forward(
        self,
        tokens: torch.Tensor,
        spans: torch.Tensor,
        span_sentences: torch.Tensor,
        span_docs: torch.Tensor,
        span_sentence_ids: torch.Tensor,
        pairs: Optional[torch.Tensor] = None,
        span_types: Optional[torch.Tensor] = None,
        given_types: Optional[torch.Tensor] = None,
        token_sentence_ids: Optional[torch.Tensor] = None,
        token_tags: Optional[torch.Tensor] = None,
        sentence_attentions: Optional[torch.Tensor] = None,
        attention_rows: Optional[torch.Tensor] = None,
        token_markers: Optional[torch.Tensor] = None,
    ) -> Dict[str, torch.Tensor]:
        """Training (``pairs`` and the gold ``span_types`` given): ``span_logits`` (S, C)
        and ``relation_logits`` (P, R'), the head's own column layout. Inference adds
        ``pairs`` (P, 2) span rows, ``entity_labels`` (S,) (0: none, else the 1-based
        label), ``entity_scores`` (S,), ``relation_rows``/``relation_labels``/
        ``relation_scores`` (H,) for the pairs that hold a relation (0-based label), and
        ``n_dropped_pairs`` (the head's ``max_pairs`` cap). ``given_types`` (S,): the spans
        are entities found upstream with these 1-based labels (0: a label unknown to the
        pipe); only their pairs are decided.

        With a pruner (and no ``given_types``): ``pruner_scores`` (S,) and ``kept_spans``
        (K,) the rows the head classified; ``span_logits`` is then (K, C), one row per
        kept span, and the other spans are "no entity".

        With a token stack (``token_sentence_ids`` (T,) given; ``token_tags`` (T,) the
        gold tag ids in training): ``tag_logits`` (T, n_tags), and at inference
        ``token_tags`` (T,) the predicted tag ids.

        With attention features: ``sentence_attentions`` (R, F, N, N) the token-level
        attention matrices of R sentences and ``attention_rows`` (S,) each span's.

        With position markers: ``token_markers`` (T, 2d), each token's [B] and [E]
        marker vectors."""
        longest = 1
        if spans.shape[0]:
            longest = int((span_sentences[:, 1] - span_sentences[:, 0]).max())
        outputs = {}
        stack = self.token_stack
        if stack is not None:
            if token_sentence_ids is None:
                raise ValueError("SpanRelationNet: a token stack needs token_sentence_ids")
            entity_tokens, relation_tokens, tag_logits, tags = stack(tokens, token_sentence_ids, token_tags)
            outputs["tag_logits"] = tag_logits
            if token_tags is None:
                outputs["token_tags"] = tags
            table = RangeMaxTable(entity_tokens, max_range=max(longest, 1))
            relation_table = RangeMaxTable(relation_tokens, max_range=max(longest, 1))
        else:
            table = relation_table = RangeMaxTable(tokens, max_range=max(longest, 1))
        span_reps, features = self.span_features(table, spans, span_sentences, sentence_attentions, attention_rows,
                                                 token_markers)
        head = self.head
        inference = pairs is None
        if self.pruner is not None and given_types is None:
            scores = self.pruner(features)
            kept = self.pruner.select(scores, span_sentence_ids, None if inference else span_types > 0)
            span_logits = head.score_spans(features[kept])
            decision = _scatter(head.decide_entities(span_logits), kept, spans.shape[0])
            outputs.update(pruner_scores=scores, kept_spans=kept)
        else:
            span_logits = head.score_spans(features)
            decision = head.decide_entities(span_logits)
        outputs["span_logits"] = span_logits
        if inference and given_types is not None:
            labels = span_types = given_types
            pairs, n_dropped = candidate_pairs(
                torch.ones_like(labels, dtype=torch.bool), decision.confidence, spans, span_docs, span_sentence_ids,
                head.max_pairs,
            )
        elif inference:
            labels = head.resolve_overlaps(spans, decision.labels, decision.confidence)
            pairs, n_dropped = candidate_pairs(
                labels > 0, decision.confidence, spans, span_docs, span_sentence_ids, head.max_pairs
            )
            span_types = decision.labels
        pair_inputs = PairInputs(relation_table, span_reps, spans, pairs, span_sentences)
        relation_logits = head.score_pairs(self.relation_encoder, pair_inputs, span_types)
        outputs["relation_logits"] = relation_logits
        outputs.update(head.extra_outputs(table.tokens))
        if inference:
            rows, rel_labels, rel_scores = head.decode_relations(relation_logits)
            outputs.update(
                pairs=pairs, entity_labels=labels, entity_scores=decision.scores, n_dropped_pairs=n_dropped,
                relation_rows=rows, relation_labels=rel_labels, relation_scores=rel_scores,
            )
        return outputs


    def span_features(self, table: RangeMaxTable, spans: torch.Tensor, span_sentences: torch.Tensor,
                      sentence_attentions: Optional[torch.Tensor], attention_rows: Optional[torch.Tensor],
                      token_markers: Optional[torch.Tensor]):
        """The span representations (what the relation encoder reads, markers included)
        and the span features (context, representation, attention features: what the
        span classifier and the pruner read)."""
        span_reps, context = self.span_encoder(table, spans, span_sentences)
        if self.markers is not None:
            if token_markers is None:
                raise ValueError("SpanRelationNet: position markers need token_markers")
            span_reps = insert_markers(span_reps, span_markers(token_markers, spans), self.span_encoder.width_columns)
        features = torch.cat([context, span_reps], dim=-1)
        if self.attention is not None:
            if sentence_attentions is None or attention_rows is None:
                raise ValueError("SpanRelationNet: attention features need sentence_attentions and attention_rows")
            degree = contribution_degree(sentence_attentions, attention_rows, spans, span_sentences,
                                         self.attention.theta)
            features = torch.cat([features, degree.to(features.dtype)], dim=-1)
        return span_reps, features


def _scatter(decision: EntityDecision, rows: torch.Tensor, n: int) -> EntityDecision:
    """The decision on the kept rows, spread over all ``n`` spans (the others: none)."""
    def spread(values: torch.Tensor) -> torch.Tensor:
        full = values.new_zeros((n,))
        full[rows] = values
        return full
    return EntityDecision(*(spread(values) for values in decision))


def build_net(span_encoder, relation_encoder, head, *, token_width: int, n_entity_classes: int,
              n_relation_labels: int, max_span_width: int, pruner=None, token_stack=None,
              n_tags: Optional[int] = None, attention=None, markers=None) -> SpanRelationNet:
    """The net from its registered parts (builders, a head, an optional pruner, an
    optional token stack with its ``n_tags`` tags), once the widths are known. With a
    token stack the encoders and the head read its output width; with ``attention``
    (an ``AttentionContribution``) the span features are ``attention.width`` wider; with
    ``markers`` (``PositionMarkers``) the span representations are two token widths
    (of the encoder, before a token stack) wider."""
    marker_width = markers.width(token_width) if markers is not None else 0
    stack_module = None
    if token_stack is not None:
        if not n_tags:
            raise ValueError("build_net: a token stack needs n_tags (the size of the tag vocabulary)")
        stack_module = token_stack.build(token_width, n_tags)
        token_width = stack_module.output_width
    spans = span_encoder(token_width=token_width, max_span_width=max_span_width)
    span_width = spans.output_width + marker_width
    try:
        pairs = relation_encoder(token_width=token_width, span_width=span_width, n_entity_classes=n_entity_classes,
                                 span_width_columns=spans.width_columns)
    except ValueError as err:
        if marker_width and "gated relation fusion" in str(err):
            raise ValueError(
                f"model.markers widen the span representations by {marker_width} (the [B] and [E] markers), but "
                "the relation encoder's fusion = \"gated\" needs them of the token width: set "
                "[components.span_relation.model.relation_encoder] fusion = \"concat\", or remove model.markers"
            ) from err
        raise
    attention_width = attention.width if attention is not None else 0
    dims = HeadDims(token_width=token_width, span_features=span_width + spans.context_width + attention_width,
                    n_entity_classes=n_entity_classes, n_relation_labels=n_relation_labels)
    head_module = head.build(dims, pairs)
    pruner_module = pruner.build(dims.span_features) if pruner is not None else None
    return SpanRelationNet(spans, pairs, head_module, pruner_module, stack_module, attention, markers)
