"""The thinc model: ``tok2vec`` (a listener or Tok2Vec) feeding a torch
``SpanRelationNet`` through ``PyTorchWrapper_v2``, for a whole batch of docs.

The torch net needs the token width and the label counts, which are known only once
the pipe is initialized (or its config is read back from disk), so it is built then by
``SpanRelationModel.build_net`` and appended as the model's second layer.
"""
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import numpy
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, Optimizer, PyTorchWrapper_v2, torch2xp, xp2torch
from thinc.types import Floats2d

from .candidates import CandidateBatch
from .layers.joint import SpanRelationNet


@dataclass
class ModelOutput:
    span_scores: Floats2d  # (S, E+1) logits
    pairs: numpy.ndarray  # (P, 2) span indices (host memory)
    relation_scores: Floats2d  # (P, R) logits
    n_dropped_pairs: int
    is_entity: Optional[numpy.ndarray] = None  # (S,) bool: the spans kept as entities


class SpanRelationModel(Model):
    """A thinc Model that knows how to build its torch net from its factories."""

    def __init__(
        self,
        tok2vec: Model,
        factories: dict,
        mixed_precision: bool,
        grad_scaler,
        learn_rate_scale: float = 1.0,
        two_phase: bool = False,
    ):
        super().__init__(
            "span_relation_model",
            forward,
            init=init,
            layers=[tok2vec],
            dims={"token_width": None},
            attrs={"has_net": False, "learn_rate_scale": learn_rate_scale, "two_phase": two_phase},
        )
        # Factories are plain callables: kept off ``attrs``, which must serialize.
        self.factories = factories
        self.mixed_precision = mixed_precision
        self.grad_scaler = grad_scaler

    @property
    def tok2vec(self) -> Model:
        return self.layers[0]

    def finish_update(self, optimizer: Optimizer) -> None:
        # The head starts from random weights while the encoder is pretrained, so the
        # head may learn faster (``learn_rate_scale``) than the optimizer's rate.
        self.tok2vec.finish_update(optimizer)
        if self.attrs["has_net"]:
            self.layers[1].finish_update(_ScaledOptimizer(optimizer, self.attrs["learn_rate_scale"]))

    def build_net(
        self, token_width: int, n_entity_classes: int, n_relation_labels: int, max_span_width: int
    ) -> None:
        net = SpanRelationNet(
            token_width=token_width,
            n_entity_classes=n_entity_classes,
            n_relation_labels=n_relation_labels,
            max_span_width=max_span_width,
            two_phase=self.attrs["two_phase"],
            **self.factories,
        )
        wrapped = PyTorchWrapper_v2(
            net,
            convert_inputs=convert_inputs,
            convert_outputs=convert_outputs,
            mixed_precision=self.mixed_precision,
            grad_scaler=self.grad_scaler,
        )
        if self.attrs["has_net"]:
            self.layers[1] = wrapped
        else:
            self.layers.append(wrapped)
        self.set_dim("token_width", token_width, force=True)
        self.attrs["has_net"] = True


class _ScaledOptimizer:
    """The optimizer, with its learning rate scaled for the parameters it updates."""

    def __init__(self, optimizer: Optimizer, scale: float):
        self._optimizer = optimizer
        self._scale = scale

    def __call__(self, key, weights, gradient, *, lr_scale: float = 1.0):
        return self._optimizer(key, weights, gradient, lr_scale=lr_scale * self._scale)

    def __getattr__(self, name):
        return getattr(self._optimizer, name)


def init(model: SpanRelationModel, X=None, Y=None) -> None:
    docs = X[0] if X is not None else None
    model.tok2vec.initialize(X=docs)


def forward(
    model: SpanRelationModel, inputs: Tuple[List[Doc], CandidateBatch], is_train: bool
) -> Tuple[ModelOutput, Callable]:
    docs, candidates = inputs
    if not model.attrs["has_net"]:
        raise ValueError(
            "The span_relation model has no network yet: initialize the pipeline "
            "(nlp.initialize / spacy train) or load a trained one."
        )
    token_vectors, backprop_tok2vec = model.tok2vec(docs, is_train)
    output, backprop_net = model.layers[1]((token_vectors, candidates), is_train)

    def backprop(d_output: Tuple[Floats2d, Floats2d]) -> List[Doc]:
        d_token_vectors = backprop_net(d_output)
        backprop_tok2vec(d_token_vectors)
        return []

    return output, backprop


def convert_inputs(model: Model, inputs, is_train: bool):
    token_vectors, candidates = inputs
    ops = model.ops
    lengths = [len(vectors) for vectors in token_vectors]
    # The pipe never sends a batch without tokens, so there is a width to flatten to.
    flat = ops.flatten(token_vectors)
    tokens = xp2torch(flat, requires_grad=is_train)

    def as_long(array):
        return xp2torch(ops.asarray(array, dtype="int64"))

    kwargs = {
        "tokens": tokens,
        "spans": as_long(candidates.spans),
        "span_sentences": as_long(candidates.span_sentences),
        "span_docs": as_long(candidates.span_docs),
        "span_sentence_ids": as_long(candidates.span_sentence_ids),
        "pairs": as_long(candidates.pairs) if candidates.pairs is not None else None,
        "max_pairs": int(candidates.max_pairs),
        "span_types": as_long(candidates.span_targets) if candidates.span_targets is not None else None,
        "flat_entities": bool(candidates.flat_entities),
    }

    def backprop(d_inputs: ArgsKwargs) -> List[Floats2d]:
        d_tokens = torch2xp(d_inputs.kwargs["tokens"])
        return ops.unflatten(d_tokens, ops.asarray1i(lengths))

    return ArgsKwargs(args=(), kwargs=kwargs), backprop


def convert_outputs(model: Model, inputs_outputs, is_train: bool):
    _, (span_logits, pairs, rel_logits, n_dropped, is_entity) = inputs_outputs
    output = ModelOutput(
        span_scores=torch2xp(span_logits.float()),
        pairs=pairs.cpu().numpy(),
        relation_scores=torch2xp(rel_logits.float()),
        n_dropped_pairs=int(n_dropped),
        is_entity=is_entity.cpu().numpy(),
    )

    def backprop(d_output: Tuple[Floats2d, Floats2d]) -> ArgsKwargs:
        d_span, d_rel = d_output
        tensors, grads = [span_logits], [xp2torch(d_span).to(span_logits.dtype)]
        if rel_logits.numel() and rel_logits.requires_grad:
            tensors.append(rel_logits)
            grads.append(xp2torch(d_rel).to(rel_logits.dtype))
        return ArgsKwargs(args=(tensors,), kwargs={"grad_tensors": grads})

    return output, backprop
