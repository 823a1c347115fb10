"""Registered architectures: the model, and its swappable parts.

Each part is registered as a factory that returns a builder for a torch module; the
model calls the builders once the token width and the label counts are known.
"""
from functools import partial
from typing import Callable, List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, PyTorchGradScaler
from thinc.types import Floats2d

from .layers.classifiers import LinearClassifier, MLPClassifier
from .layers.attention import VARIANTS
from .layers.representations import (
    AttentionRelationEncoder,
    AttentionSpanEncoder,
    MaxPoolSpanEncoder,
    SpERTRelationEncoder,
    check_phase_two_features,
)
from .model import SpanRelationModel


def _check_dropout(dropout: float, where: str) -> None:
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"{where}: dropout must be in [0, 1), got {dropout}")


@registry.architectures("spacy_jere.SpanRelationModel.v1")
def build_span_relation_model(
    tok2vec: Model[List[Doc], List[Floats2d]],
    span_encoder: Callable,
    relation_encoder: Callable,
    span_classifier: Callable,
    relation_classifier: Callable,
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},
    learn_rate_scale: float = 1.0,
    two_phase: bool = False,
) -> Model:
    """Joint span and relation scorer over the token vectors of ``tok2vec``.

    learn_rate_scale: learning rate of the span/relation head relative to the
        optimizer's (which the encoder gets).
    two_phase: paper 004's two-phase paradigm: binary entity / relation classifiers,
        then type classifiers over what they keep, trained jointly.
    """
    if learn_rate_scale <= 0:
        raise ValueError(f"SpanRelationModel: learn_rate_scale must be > 0, got {learn_rate_scale}")
    if not two_phase and getattr(relation_encoder, "keywords", {}).get("phase_two_features", "replace") != "replace":
        raise ValueError("SpanRelationModel: the relation encoder's phase_two_features is for two-phase models: "
                         "set two_phase = true or leave it \"replace\"")
    grad_scaler = PyTorchGradScaler(**grad_scaler_config) if mixed_precision else None
    factories = {
        "span_encoder": span_encoder,
        "relation_encoder": relation_encoder,
        "span_classifier": span_classifier,
        "relation_classifier": relation_classifier,
    }
    return SpanRelationModel(tok2vec, factories, mixed_precision, grad_scaler, learn_rate_scale, two_phase)


@registry.architectures("spacy_jere.MaxPoolSpanEncoder.v1")
def max_pool_span_encoder(width_embedding_size: int = 25, fusion: str = "concat") -> Callable:
    """SpERT span representation: max-pooled tokens, width embedding, sentence context;
    fusion "concat" (SpERT) or "gated" (paper 004, eq. 5; the width embedding then
    takes the token width)."""
    if width_embedding_size < 1:
        raise ValueError(f"MaxPoolSpanEncoder: width_embedding_size must be >= 1, got {width_embedding_size}")
    _check_fusion(fusion, "MaxPoolSpanEncoder")
    return partial(MaxPoolSpanEncoder, width_embedding_size=width_embedding_size, fusion=fusion)


def _check_fusion(fusion: str, where: str) -> None:
    if fusion not in ("concat", "gated"):
        raise ValueError(f"{where}: fusion must be 'concat' or 'gated', got {fusion!r}")


@registry.architectures("spacy_jere.AttentionSpanEncoder.v1")
def attention_span_encoder(
    width_embedding_size: int = 25,
    attention_hidden: int = 150,
    head_tail: bool = True,
    sentence_attention: Optional[str] = None,
    attention_width: int = 128,
    n_heads: int = 8,
) -> Callable:
    """Paper 001's span representation: MLP attention over the span's tokens (eq.
    2a-2c), its first and last token (eq. 1), a width embedding; with
    ``sentence_attention`` (multihead, additive, dot, general) the context is the
    span-specific vector attending over its sentence (eq. 3)."""
    if width_embedding_size < 1 or attention_hidden < 1:
        raise ValueError("AttentionSpanEncoder: width_embedding_size and attention_hidden must be >= 1")
    _check_variant(sentence_attention, "AttentionSpanEncoder.sentence_attention", allow_none=True)
    return partial(
        AttentionSpanEncoder,
        width_embedding_size=width_embedding_size,
        attention_hidden=attention_hidden,
        head_tail=head_tail,
        sentence_attention=sentence_attention,
        attention_width=attention_width,
        n_heads=n_heads,
    )


@registry.architectures("spacy_jere.AttentionRelationEncoder.v1")
def attention_relation_encoder(
    attention: str = "multihead",
    reduce_width: int = 256,
    attention_width: int = 128,
    n_heads: int = 8,
    local: bool = True,
    sentence: bool = True,
) -> Callable:
    """Paper 001's relation representation (eq. 6-9): reduced head and tail, with
    attention over the tokens between them and over the sentence."""
    _check_variant(attention, "AttentionRelationEncoder.attention")
    return partial(
        AttentionRelationEncoder,
        attention=attention,
        reduce_width=reduce_width,
        attention_width=attention_width,
        n_heads=n_heads,
        local=local,
        sentence=sentence,
    )


def _check_variant(variant: Optional[str], where: str, allow_none: bool = False) -> None:
    if variant is None and allow_none:
        return
    if variant not in VARIANTS:
        raise ValueError(f"{where} must be one of {VARIANTS}" + (" or null" if allow_none else "") + f", got {variant!r}")


@registry.architectures("spacy_jere.SpERTRelationEncoder.v1")
def spert_relation_encoder(
    global_features: bool = False, feature_width: int = 25, fusion: str = "concat", role_projections: bool = True,
    phase_two_features: str = "replace",
) -> Callable:
    """SpERT pair representation: head, tail, max-pooled context between them; with
    ``global_features``, paper 004's embedding of (head type, tail type, distance);
    fusion "concat" or "gated" (paper 004, eq. 5). ``role_projections`` (gated only):
    a linear layer per part before the gate, so that the fused pair keeps its
    direction; false = eq. 5 as written (head and tail interchangeable).
    ``phase_two_features`` (two-phase models): "replace" = phase two encodes the pair
    again with the typed features in place of the distance-only ones; "gate" = paper
    004, 3.3.2: an eq. 5 gate over phase one's representation and the typed features."""
    _check_fusion(fusion, "SpERTRelationEncoder")
    check_phase_two_features(phase_two_features, global_features)
    return partial(SpERTRelationEncoder, global_features=global_features, feature_width=feature_width,
                   fusion=fusion, role_projections=role_projections, phase_two_features=phase_two_features)


@registry.architectures("spacy_jere.LinearClassifier.v1")
def linear_classifier(dropout: float = 0.1) -> Callable:
    _check_dropout(dropout, "LinearClassifier")
    return partial(LinearClassifier, dropout=dropout)


@registry.architectures("spacy_jere.MLPClassifier.v1")
def mlp_classifier(hidden_width: int = 150, dropout: float = 0.1) -> Callable:
    """ASpERT's classifier (eq. 8-9): Linear, ReLU, Linear."""
    _check_dropout(dropout, "MLPClassifier")
    if hidden_width < 1:
        raise ValueError(f"MLPClassifier: hidden_width must be >= 1, got {hidden_width}")
    return partial(MLPClassifier, hidden_width=hidden_width, dropout=dropout)
