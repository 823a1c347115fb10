"""The thinc model: ``tok2vec`` (a listener or a Tok2Vec) feeding the torch
``SpanRelationNet`` through ``PyTorchWrapper_v2``, for a whole batch of docs.

    span_relation_model((docs, candidates)) = net((tok2vec(docs), candidates))

The net (spacy-experimental's coref pattern) is a ``Model`` whose ``init`` builds the
torch module once its dims are known: the token width ``nI`` (inferred from tok2vec at
initialize, or set from the pipe's saved cfg before loading), the number of entity
classes (labels + "none"), of relation labels, and the suggester's widest span; with a
token stack also ``n_tags``, the size of its tag vocabulary. The head
(``attrs["head"]``), the optional span pruner (``attrs["pruner"]``) and the optional
token stack (``attrs["token_stack"]``, only when there is one) are the config's
objects: the loss is theirs (``spacy_jere.objective``).

With ``attention_features`` (ASpERT's contribution degree, ``attrs["attention"]``) the
model calls its tok2vec's two layers itself: the transformer listener (its
``TransformerData``) and ``trfs2arrays`` (the token vectors); the token-level attention
matrices of the batch's sentences are made from the same ``TransformerData``
(``spacy_jere.transformer_attentions``) and go to the net next to the token vectors.

With ``markers`` (PERA's position-attentive markers, ``attrs["markers"]``) likewise: the
[B] and [E] marker vectors of every token come from the same ``TransformerData``
(``model_output["jere_markers"]``, made by ``spacy_jere.MarkerTransformerModel.v1``;
``spacy_jere.transformer_markers``) and go to the net next to the token vectors; their
gradient (and the attentions' with ``grad = true``) goes to the transformer through the
batch's ``ExtraGradients`` holder, not the listener (``transformer_attentions``). At
inference the markers (``drop_markers``) and the attentions (``drop_attentions``) are
removed from ``doc._.trf_data`` once read.
"""
from functools import partial
from typing import Callable, Dict, List, Optional, Tuple

import numpy
from spacy.tokens import Doc
from thinc.api import ArgsKwargs, Model, Optimizer, PyTorchWrapper_v2, torch2xp, xp2torch
from thinc.types import Floats2d

from .candidates import CandidateBatch
from .heads import Head
from .layers.net import build_net
from .transformer_attentions import drop_piece_attentions, send_attention_gradients, sentence_attentions
from .transformer_markers import drop_marker_outputs, marker_vectors, send_marker_gradients

NET_DIMS = ("nI", "n_entity_classes", "n_relation_labels", "max_span_width")
# Net outputs that stay on the model's device as thinc arrays (the loss reads them);
# the others are copied to the host for set_annotations.
ON_DEVICE = ("span_logits", "relation_logits", "pruner_scores")
# The token stack's dim (only on nets with a stack, so other pipelines save as before).
STACK_DIMS = ("n_tags",)


def build_span_relation_model(
    tok2vec: Model[List[Doc], List[Floats2d]],
    span_encoder: Callable,
    relation_encoder: Callable,
    head: Head,
    mixed_precision: bool,
    grad_scaler,
    learn_rate_scale: float,
    span_pruner=None,
    token_stack=None,
    attention_features=None,
    markers=None,
) -> Model:
    if learn_rate_scale <= 0:
        raise ValueError(f"SpanRelationModel: learn_rate_scale must be > 0, got {learn_rate_scale}")
    if attention_features is not None:
        check_attention_tok2vec(tok2vec)
    if markers is not None:
        check_attention_tok2vec(tok2vec, what="markers need the marker tokens' vectors from the encoder")
    dims = {name: None for name in NET_DIMS + (STACK_DIMS if token_stack is not None else ())}
    net = Model(
        "span_relation_net",
        net_forward,
        init=partial(net_init, span_encoder=span_encoder, relation_encoder=relation_encoder, head=head,
                     pruner=span_pruner, token_stack=token_stack, mixed_precision=mixed_precision,
                     grad_scaler=grad_scaler, attention=attention_features, markers=markers),
        dims=dims,
    )
    attrs = {"head": head, "pruner": span_pruner, "learn_rate_scale": learn_rate_scale}
    if token_stack is not None:
        attrs["token_stack"] = token_stack
    if attention_features is not None:
        attrs["attention"] = attention_features
    if markers is not None:
        attrs["markers"] = markers
    return Model(
        "span_relation_model",
        forward,
        init=init,
        layers=[tok2vec, net],
        refs={"tok2vec": tok2vec, "net": net},
        # The head is kept here for the pipe (loss, decoding settings); attrs that
        # msgpack cannot serialize are skipped by Model.to_bytes.
        attrs=attrs,
    )


def check_attention_tok2vec(tok2vec: Model, what: str = "attention_features need the encoder's attention weights",
                            ) -> None:
    """attention_features and markers read the transformer's output before it is pooled:
    the tok2vec must be spacy-transformers' listener (or inline transformer),
    ``chain(<docs -> TransformerData>, trfs2arrays)``."""
    layers = getattr(tok2vec, "layers", [])
    if len(layers) != 2 or layers[1].name != "trfs2arrays":
        raise ValueError(
            f"SpanRelationModel: {what}, so model.tok2vec must be "
            "a transformer listener (spacy-transformers.TransformerListener.v1, or Tok2VecTransformer.v3), "
            f"got {tok2vec.name!r}")


def init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    """X: a sample of docs, to initialize tok2vec and infer the token width."""
    tok2vec, net = model.get_ref("tok2vec"), model.get_ref("net")
    tok2vec.initialize(X=X)
    if not net.has_dim("nI"):
        net.set_dim("nI", token_width(tok2vec, X or []))
    net.initialize()


def token_width(tok2vec: Model, sample: List[Doc]) -> int:
    for node in tok2vec.walk():
        if node.has_dim("nO") and node.get_dim("nO"):
            return int(node.get_dim("nO"))
    vectors = tok2vec.predict([doc for doc in sample if len(doc)][:1])
    return int(vectors[0].shape[1])


def net_init(model: Model, X=None, Y=None, *, span_encoder: Callable, relation_encoder: Callable, head: Head,
             pruner, mixed_precision: bool, grad_scaler, token_stack=None, attention=None, markers=None) -> None:
    missing = [name for name in NET_DIMS + (STACK_DIMS if token_stack is not None else ()) if not model.has_dim(name)]
    if missing:
        raise ValueError(f"span_relation_net: dims {missing} are not set; the pipe sets them at initialize or load")
    net = build_net(
        span_encoder, relation_encoder, head, token_width=model.get_dim("nI"),
        n_entity_classes=model.get_dim("n_entity_classes"), n_relation_labels=model.get_dim("n_relation_labels"),
        max_span_width=model.get_dim("max_span_width"), pruner=pruner, token_stack=token_stack,
        n_tags=model.get_dim("n_tags") if token_stack is not None else None, attention=attention, markers=markers,
    )
    wrapped = PyTorchWrapper_v2(
        net,
        convert_inputs=convert_inputs,
        convert_outputs=convert_outputs,
        mixed_precision=mixed_precision,
        grad_scaler=grad_scaler,
    )
    model._layers[:] = [wrapped]  # a second initialize starts from a new net


def forward(model: Model, inputs: Tuple[List[Doc], CandidateBatch], is_train: bool) -> Tuple[Dict, Callable]:
    docs, candidates = inputs
    if model.attrs.get("attention") is not None or model.attrs.get("markers") is not None:
        return forward_with_features(model, docs, candidates, is_train)
    tok2vec, net = model.get_ref("tok2vec"), model.get_ref("net")
    token_vectors, backprop_tok2vec = tok2vec(docs, is_train)
    output, backprop_net = net((token_vectors, candidates), is_train)

    def backprop(d_output: Dict[str, Floats2d]) -> List[Doc]:
        backprop_tok2vec(backprop_net(d_output))
        return []

    return output, backprop


def attention_sentences(candidates: CandidateBatch):
    """The sentences that hold a candidate span, as (doc, doc-local start, end), and
    each span's row among them."""
    bounds = numpy.asarray(candidates.span_sentences, dtype="int64").reshape(-1, 2)
    offsets = numpy.asarray(candidates.token_offsets, dtype="int64")
    if not len(bounds):
        return [], numpy.zeros((0,), dtype="int64")
    unique, rows = numpy.unique(bounds, axis=0, return_inverse=True)
    docs = numpy.searchsorted(offsets, unique[:, 0], side="right") - 1
    local = unique - offsets[docs][:, None]
    sentences = [(int(d), int(s), int(e)) for d, (s, e) in zip(docs, local, strict=True)]
    return sentences, rows.reshape(-1).astype("int64")


def forward_with_features(model: Model, docs: List[Doc], candidates: CandidateBatch, is_train: bool):
    """The listener and its pooling called here, so that the attention features and the
    markers are read from the same ``TransformerData`` as the token vectors."""
    settings = model.attrs.get("attention")
    markers = model.attrs.get("markers")
    tok2vec, net = model.get_ref("tok2vec"), model.get_ref("net")
    listener, to_arrays = tok2vec.layers
    trf_datas, backprop_listener = listener(docs, is_train)
    token_vectors, backprop_arrays = to_arrays(trf_datas, is_train)
    attention = backprop_attentions = None
    if settings is not None:
        sentences, rows = attention_sentences(candidates)
        attentions, backprop_attentions = sentence_attentions(
            model.ops, trf_datas, sentences, settings, "span_relation (attention_features)", is_train)
        if not is_train and settings.drop_attentions:
            drop_piece_attentions(trf_datas)
        attention = (attentions, rows, settings.grad)
    token_markers = backprop_markers = None
    if markers is not None:
        width = next((int(v.shape[1]) for v in token_vectors if len(v)), int(net.get_dim("nI")))
        per_doc, backprop_markers = marker_vectors(model.ops, trf_datas, [len(doc) for doc in docs], width,
                                                   "span_relation (markers)")
        token_markers = model.ops.flatten(per_doc) if per_doc else model.ops.alloc2f(0, 2 * width)
        if not is_train and getattr(markers, "drop_markers", False):
            drop_marker_outputs(trf_datas)
    output, backprop_net = net((token_vectors, candidates, attention, token_markers), is_train)

    def backprop(d_output: Dict[str, Floats2d]) -> List[Doc]:
        d_vectors, d_attentions, d_markers = backprop_net(d_output)
        d_trf_datas = backprop_arrays(d_vectors)
        grad_factor = to_arrays.attrs.get("grad_factor", 1.0)
        # The attentions' and the markers' gradients go to the transformer's per-batch
        # holder before the listener's backprop (which may run the transformer's), not
        # through the listener: spacy-transformers sums its listeners' gradients tensor
        # by tensor, so a second tensor would break when another listener backprops first.
        if settings is not None and settings.grad and d_attentions is not None:
            send_attention_gradients(trf_datas, backprop_attentions(d_attentions), settings.layers, grad_factor)
        if markers is not None and d_markers is not None:
            lengths = model.ops.asarray1i([len(doc) for doc in docs])
            send_marker_gradients(trf_datas, backprop_markers(model.ops.unflatten(d_markers, lengths)), grad_factor)
        backprop_listener(d_trf_datas)
        return []

    return output, backprop


def net_forward(model: Model, inputs, is_train: bool):
    if not model.layers:
        raise ValueError(
            "The span_relation model has no network yet: initialize the pipeline "
            "(nlp.initialize / spacy train) or load a trained one."
        )
    return model.layers[0](inputs, is_train)


def finish_update(model: Model, optimizer: Optimizer) -> None:
    # The head starts from random weights while the encoder is pretrained, so the
    # net may learn faster (``learn_rate_scale``) than the optimizer's rate.
    # A part of the net may set its own scale (the token stack's ``learn_rate_scale``).
    model.get_ref("tok2vec").finish_update(optimizer)
    parts = {}
    stack = model.attrs.get("token_stack")
    if stack is not None and stack.learn_rate_scale is not None:
        parts["token_stack."] = stack.learn_rate_scale
    model.get_ref("net").finish_update(ScaledOptimizer(optimizer, model.attrs["learn_rate_scale"], parts))


class ScaledOptimizer:
    """The optimizer, with its learning rate scaled for the parameters it updates:
    ``scale``, or for a torch parameter whose name starts with a prefix of ``parts``
    that prefix's scale (thinc's PyTorch shim keys a parameter by (shim id, name))."""

    def __init__(self, optimizer: Optimizer, scale: float, parts: Optional[Dict[str, float]] = None):
        self._optimizer = optimizer
        self._scale = scale
        self._parts = parts or {}

    def scale_for(self, key) -> float:
        name = key[1] if isinstance(key, tuple) else ""
        for prefix, scale in self._parts.items():
            if name.startswith(prefix):
                return scale
        return self._scale

    def __call__(self, key, weights, gradient, *, lr_scale: float = 1.0):
        return self._optimizer(key, weights, gradient, lr_scale=lr_scale * self.scale_for(key))

    def __getattr__(self, name):
        return getattr(self._optimizer, name)


def convert_inputs(model: Model, inputs, is_train: bool):
    token_vectors, candidates = inputs[:2]
    attention = inputs[2] if len(inputs) > 2 else None
    token_markers = inputs[3] if len(inputs) > 3 else None
    ops = model.ops
    lengths = [len(vectors) for vectors in token_vectors]
    # The pipe never sends a batch without tokens, so there is a width to flatten to.
    tokens = xp2torch(ops.flatten(token_vectors), requires_grad=is_train)

    def as_long(array):
        return None if array is None else xp2torch(ops.asarray(array, dtype="int64"))

    kwargs = {
        "tokens": tokens,
        "spans": as_long(candidates.spans),
        "span_sentences": as_long(candidates.span_sentences),
        "span_docs": as_long(candidates.span_docs),
        "span_sentence_ids": as_long(candidates.span_sentence_ids),
        "pairs": as_long(candidates.pairs),
        "span_types": as_long(candidates.span_targets),
        "given_types": as_long(candidates.given_types),
        "token_sentence_ids": as_long(candidates.token_sentence_ids),
        "token_tags": as_long(candidates.token_tags),
    }
    if attention is not None:
        attentions, rows, grad = attention
        kwargs["sentence_attentions"] = xp2torch(ops.asarray(attentions, dtype="float32"),
                                                 requires_grad=is_train and grad)
        kwargs["attention_rows"] = as_long(rows)
    if token_markers is not None:
        kwargs["token_markers"] = xp2torch(ops.asarray(token_markers, dtype="float32"), requires_grad=is_train)

    def backprop(d_inputs: ArgsKwargs) -> List[Floats2d]:
        d_tokens = torch2xp(d_inputs.kwargs["tokens"])
        d_vectors = ops.unflatten(d_tokens, ops.asarray1i(lengths))
        if len(inputs) == 2:
            return d_vectors
        # None where no gradient came back (grad = false: the attentions are constants)
        d_attentions = d_inputs.kwargs.get("sentence_attentions") if attention is not None else None
        d_markers = d_inputs.kwargs.get("token_markers") if token_markers is not None else None
        return (d_vectors, None if d_attentions is None else torch2xp(d_attentions),
                None if d_markers is None else torch2xp(d_markers))

    return ArgsKwargs(args=(), kwargs=kwargs), backprop


def convert_outputs(model: Model, inputs_outputs, is_train: bool):
    _, outputs = inputs_outputs
    converted = {}
    for name, tensor in outputs.items():
        if name in ON_DEVICE or (tensor.is_floating_point() and tensor.requires_grad):
            converted[name] = torch2xp(tensor.float())
        else:
            converted[name] = tensor.cpu().numpy()

    def backprop(d_output: Dict[str, Floats2d]) -> ArgsKwargs:
        tensors, grads = [], []
        for name, grad in d_output.items():
            tensor = outputs[name]
            if tensor.numel() and tensor.requires_grad:
                tensors.append(tensor)
                grads.append(xp2torch(grad).to(tensor.dtype))
        return ArgsKwargs(args=(tensors,), kwargs={"grad_tensors": grads})

    return converted, backprop
