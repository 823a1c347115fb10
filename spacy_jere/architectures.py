"""Registered architectures: the model, and its swappable parts (the heads register
themselves in ``heads/``, next to their code).

Each part's settings and defaults are written once, here; the function returns a
builder (a ``partial`` over the torch module, whose constructor validates the settings)
that the net calls once the widths are known. The settings are validated here too, by
the module's own ``validate``, so that a bad config fails when the pipeline is built,
not at initialize.
"""
from functools import partial
from typing import Callable, List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, PyTorchGradScaler
from thinc.types import Floats2d

from .heads import Head
from .layers.attention_contribution import AttentionContribution
from .layers.classifiers import LinearClassifier, MLPClassifier
from .layers.label_attention import LabelAttentionStack
from .layers.position_markers import PositionMarkers
from .layers.pruning import SpanPruner
from .layers.relation_encoders import AttentionRelationEncoder, SpERTRelationEncoder
from .layers.span_encoders import AttentionSpanEncoder, MaxPoolSpanEncoder
from .model import build_span_relation_model
from .transformer_attentions import attention_transformer_model  # noqa: F401 (registers the architecture)
from .transformer_markers import marker_transformer_model  # noqa: F401 (registers the architecture)


def _part(module: type, **settings) -> Callable:
    module.validate(**settings)
    return partial(module, **settings)


@registry.architectures("spacy_jere.SpanRelationModel.v1")
def span_relation_model(
    tok2vec: Model[List[Doc], List[Floats2d]],
    span_encoder: Callable,
    relation_encoder: Callable,
    head: Head,
    mixed_precision: bool = False,
    grad_scaler_config: Optional[dict] = None,
    learn_rate_scale: float = 1.0,
    span_pruner: Optional[SpanPruner] = None,
    token_stack: Optional[LabelAttentionStack] = None,
    attention_features: Optional[AttentionContribution] = None,
    markers: Optional[PositionMarkers] = None,
) -> Model:
    """Spans and relations over the token vectors of ``tok2vec``: the span encoder's
    representations go to the head, which decides the entities; their pairs go through
    the relation encoder to the head again.

    learn_rate_scale: learning rate of the net (encoders and head) relative to the
        optimizer's (which the tok2vec / transformer gets).
    span_pruner: optional (``spacy_jere.SpanPruner.v1``): only the best-scored spans of
        each sentence reach the head's span classifier (PERA).
    token_stack: optional (``spacy_jere.LabelAttentionStack.v1``): STSN's stacked label
        attention between the token vectors and the encoders, with a BIO tagging loss.
    attention_features: optional (``spacy_jere.AttentionContribution.v1``): ASpERT's
        attentional contribution degree, one feature per encoder layer and head added
        to the span features; needs a transformer listener as tok2vec and the
        transformer's attention weights (``output_attentions``).
    markers: optional (``spacy_jere.PositionMarkers.v1``): PERA's position-attentive
        markers, the [B] vector of a span's first word and the [E] of its last added to
        its representation; needs a transformer listener as tok2vec and
        ``spacy_jere.MarkerTransformerModel.v1`` as the transformer.
    """
    grad_scaler = PyTorchGradScaler(**(grad_scaler_config or {})) if mixed_precision else None
    return build_span_relation_model(tok2vec, span_encoder, relation_encoder, head, mixed_precision, grad_scaler,
                                     learn_rate_scale, span_pruner, token_stack, attention_features, markers)


@registry.architectures("spacy_jere.MaxPoolSpanEncoder.v1")
def max_pool_span_encoder(width_embedding_size: int = 25, fusion: str = "concat",
                          fused_embedding_std: float = 1.0) -> Callable:
    """SpERT span representation: max-pooled tokens, width embedding, sentence context;
    fusion "concat" (SpERT) or "gated" (Ji et al. 2022, eq. 5; the width embedding then
    takes the token width, initialised N(0, ``fused_embedding_std``))."""
    return _part(MaxPoolSpanEncoder, width_embedding_size=width_embedding_size, fusion=fusion,
                 fused_embedding_std=fused_embedding_std)


@registry.architectures("spacy_jere.AttentionSpanEncoder.v1")
def attention_span_encoder(
    width_embedding_size: int = 25,
    attention_hidden: int = 150,
    head_tail: bool = True,
    sentence_attention: Optional[str] = None,
    attention_width: int = 128,
    n_heads: int = 8,
) -> Callable:
    """Ji et al. 2020's span representation: MLP attention over the span's tokens (eq.
    2a-2c), its first and last token (eq. 1), a width embedding; with
    ``sentence_attention`` (multihead, additive, dot, general) the context is the
    span-specific vector attending over its sentence (eq. 3)."""
    return _part(AttentionSpanEncoder, width_embedding_size=width_embedding_size, attention_hidden=attention_hidden,
                 head_tail=head_tail, sentence_attention=sentence_attention, attention_width=attention_width,
                 n_heads=n_heads)


@registry.architectures("spacy_jere.SpERTRelationEncoder.v1")
def spert_relation_encoder(
    global_features: bool = False, feature_width: int = 25, fusion: str = "concat", role_projections: bool = True,
    span_width_embedding: bool = True, fused_embedding_std: float = 1.0,
) -> Callable:
    """SpERT pair representation: head, tail, max-pooled context between them; with
    ``global_features``, Ji et al. 2022's embedding of (head type, tail type, distance);
    fusion "concat" or "gated" (eq. 5). ``role_projections`` (gated only): a linear
    layer per part before the gate, so that the fused pair keeps its direction.
    ``span_width_embedding = false``: the head and tail without their width embedding
    (PERA, eq. 4). ``fused_embedding_std`` (gated only): init scale of the global
    features' embedding."""
    return _part(SpERTRelationEncoder, global_features=global_features, feature_width=feature_width, fusion=fusion,
                 role_projections=role_projections, span_width_embedding=span_width_embedding,
                 fused_embedding_std=fused_embedding_std)


@registry.architectures("spacy_jere.AttentionRelationEncoder.v1")
def attention_relation_encoder(
    attention: str = "multihead",
    reduce_width: int = 256,
    attention_width: int = 128,
    n_heads: int = 8,
    local: bool = True,
    sentence: bool = True,
) -> Callable:
    """Ji et al. 2020's relation representation (eq. 6-9): reduced head and tail, with
    attention over the tokens between them and over the sentence."""
    return _part(AttentionRelationEncoder, attention=attention, reduce_width=reduce_width,
                 attention_width=attention_width, n_heads=n_heads, local=local, sentence=sentence)


@registry.architectures("spacy_jere.LinearClassifier.v1")
def linear_classifier(dropout: float = 0.1) -> Callable:
    return _part(LinearClassifier, dropout=dropout)


@registry.architectures("spacy_jere.MLPClassifier.v1")
def mlp_classifier(hidden_width: int = 150, dropout: float = 0.1) -> Callable:
    """ASpERT's classifier (eq. 8-9): Linear, ReLU, Linear."""
    return _part(MLPClassifier, hidden_width=hidden_width, dropout=dropout)
