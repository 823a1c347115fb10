"""The encoder's attention weights for ASpERT's contribution degree
(``layers/attention_contribution.py``), from the shared ``transformer`` component,
without a second encoder pass.

Where they come from. With ``transformer_config = {"output_attentions": true}`` the
Hugging Face model returns its attention weights (one ``(windows, heads, pieces,
pieces)`` array per layer) and spacy-transformers splits them per doc into
``TransformerData.model_output["attentions"]`` next to ``last_hidden_state``; the
``TransformerListener`` hands the ``TransformerData`` on. The span_relation model then
calls its tok2vec's two layers itself (the listener, and ``trfs2arrays`` that pools the
token vectors), so it reads the attentions from the same ``TransformerData``.

Wordpieces to tokens: the same alignment the listener pools the vectors with
(``TransformerData.align``: the pieces of each spaCy token, indices into the doc's
``windows x pieces``). Per window ``w`` that holds both tokens, the attention from token
i to token j is the **mean over i's pieces of the sum over j's pieces**: a piece's
attention is a distribution over the pieces it attends to, so the share of token j is
the sum over j's pieces, and a token's row is the average of its pieces' rows. A token's
row therefore still sums to at most 1 (what goes to [CLS], [SEP] and other sentences'
pieces is left out), and the paper's threshold keeps its meaning: "more than theta of
this word's attention goes to that word" (Clark et al. 2019 map attention to words the
same way). Over windows (strided windows of a long sentence, or a window that holds
several sentences): the token-level matrices of the windows that hold both tokens are
averaged; a pair that no window holds together gets 0. Tokens with no pieces get 0 rows
and columns.

Only what the spans need is built: one ``(layers x heads, n, n)`` matrix per sentence
that holds a candidate span (n = its tokens), padded into one ``(R, F, N, N)`` array.
The wordpiece arrays are not copied; at inference (``drop_attentions``) they are removed
from ``doc._.trf_data`` once read.

Gradients (``grad = true``): the token-level matrices are linear in the wordpiece
attentions, so their gradient goes back to the pieces (``M_q^T dT M_k`` per window) and
on to the encoder. spacy-transformers' ``TransformerModel`` backpropagates only into
``last_hidden_state``; ``spacy_jere.AttentionTransformerModel.v1`` (the same model,
``output_attentions`` on) backpropagates into the attention weights too, through the
softmax into the queries and keys. Its outputs carry a marker (``GRAD_MARKER``) so that
a missing architecture fails with a message. Only the layers that ``layers`` selects get
a gradient buffer.

How the gradient gets there (``ExtraGradients``). spacy-transformers' ``Transformer``
component adds up its listeners' gradients tensor by tensor, sizing each doc's list from
the first listener that backpropagates, so a tensor that only one listener sends breaks
training when another listener (a ``ner`` on the same transformer) backpropagates first.
span_relation therefore sends only ``last_hidden_state``'s gradient through its
listener, like every other listener, and puts the attentions' (and the markers')
gradients in a per-batch holder that the transformer's forward attached to the batch's
``TransformerData`` (``EXTRA_GRADIENTS``); the transformer's own backprop reads the
holder, whichever listener triggers it. Other listeners are not affected.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import numpy
import torch
from spacy.util import registry
from thinc.api import ArgsKwargs, Model, get_array_module, xp2torch
from transformers.file_utils import ModelOutput

ATTENTIONS = "attentions"
GRAD_MARKER = "jere_attention_grad"
# the attribute of a training batch's TransformerData that holds (ExtraGradients, doc index)
EXTRA_GRADIENTS = "_jere_extra_gradients"
FIX = ('set transformer_config = {"output_attentions": true} on [components.transformer.model] '
       '(or use @architectures = "spacy_jere.AttentionTransformerModel.v1")')


class AttentionSetupError(ValueError):
    pass


class _Window:
    """One window's share of one sentence: the piece positions it holds, and the
    pooling matrices (n tokens x p pieces): ``mean_q`` averages a token's pieces (the
    attending side), ``sum_k`` sums them (the attended side)."""

    def __init__(self, window: int, positions, mean_q, sum_k):
        self.window, self.positions, self.mean_q, self.sum_k = window, positions, mean_q, sum_k


class _Sentence:
    def __init__(self, doc: int, n_tokens: int, windows: List[_Window], counts):
        self.doc, self.n_tokens, self.windows, self.counts = doc, n_tokens, windows, counts


def plan_sentence(align_lengths, align_data, n_pieces: int, start: int, end: int, doc: int = 0,
                  xp=numpy) -> _Sentence:
    """The windows and pooling matrices of tokens ``start..end`` of a doc whose
    alignment is ``align_lengths`` (pieces per token) and ``align_data`` (piece indices
    into the doc's flattened ``windows x n_pieces``)."""
    lengths = numpy.asarray(align_lengths, dtype="int64").reshape(-1)
    data = numpy.asarray(align_data, dtype="int64").reshape(-1)
    offsets = numpy.concatenate([[0], numpy.cumsum(lengths)])
    n = end - start
    tokens = numpy.repeat(numpy.arange(n), lengths[start:end])
    pieces = data[offsets[start]:offsets[end]]
    windows, positions = pieces // n_pieces, pieces % n_pieces
    plans, counts = [], numpy.zeros((n, n), dtype="float32")
    for w in numpy.unique(windows):
        here = windows == w
        t = tokens[here]
        used, column = numpy.unique(positions[here], return_inverse=True)
        per_token = numpy.bincount(t, minlength=n).astype("float32")
        mean_q = numpy.zeros((n, len(used)), dtype="float32")
        sum_k = numpy.zeros((n, len(used)), dtype="float32")
        mean_q[t, column] = 1.0 / per_token[t]
        sum_k[t, column] = 1.0
        present = (per_token > 0).astype("float32")
        counts += numpy.outer(present, present)
        plans.append(_Window(int(w), used, xp.asarray(mean_q), xp.asarray(sum_k)))
    return _Sentence(doc, n, plans, xp.asarray(numpy.maximum(counts, 1.0)))


def _window_block(attentions: Sequence, layers: Sequence[int], window: int, positions, xp):
    """(layers x heads, p, p): the window's attentions between the given pieces."""
    index = xp.asarray(positions)
    blocks = [xp.asarray(attentions[layer][window])[:, index][:, :, index] for layer in layers]
    return xp.concatenate(blocks, axis=0).astype("float32")


def token_attentions(sentence: _Sentence, attentions: Sequence, layers: Sequence[int], xp=numpy):
    """(F, n, n) token-level attentions of one sentence (F = layers x heads)."""
    total = None
    for plan in sentence.windows:
        block = _window_block(attentions, layers, plan.window, plan.positions, xp)
        tokens = xp.matmul(xp.matmul(plan.mean_q, block), plan.sum_k.T)
        total = tokens if total is None else total + tokens
    if total is None:
        n_heads = attentions[layers[0]].shape[1]
        return xp.zeros((len(layers) * n_heads, sentence.n_tokens, sentence.n_tokens), dtype="float32")
    return total / sentence.counts


def token_attentions_backward(sentence: _Sentence, d_tokens, d_pieces, layers: Sequence[int], n_heads: int, xp=numpy):
    """Add the gradient of one sentence's (F, n, n) token attentions to ``d_pieces``, the
    doc's (windows, len(layers), heads, P, P) gradient of the selected layers' wordpiece
    attentions (index i: ``layers[i]``)."""
    d_scaled = d_tokens / sentence.counts
    for plan in sentence.windows:
        d_block = xp.matmul(xp.matmul(plan.mean_q.T, d_scaled), plan.sum_k)  # (F, p, p)
        p = len(plan.positions)
        d_block = d_block.reshape(len(layers), n_heads, p, p)
        index = xp.asarray(plan.positions)
        rows, cols = index[:, None], index[None, :]
        for i in range(len(layers)):
            d_pieces[plan.window, i][:, rows, cols] += d_block[i]


def check_attentions(trf_data, settings, where: str, need_grad: bool) -> list:
    """The doc's per-layer wordpiece attentions, or an error that says what to set."""
    output = trf_data.model_output
    attentions = output.get(ATTENTIONS) if hasattr(output, "get") else None
    if attentions is None:
        if "last_hidden_state" in output:
            raise AttentionSetupError(
                f"{where}: the transformer's output has no attention weights (model_output['attentions']): {FIX}. "
                "If they were there, an earlier run with drop_attentions = true released them: run the transformer "
                "again, or set drop_attentions = false.")
        raise AttentionSetupError(
            f"{where}: the docs have no transformer output (doc._.trf_data); attention_features needs the "
            "'transformer' component to run before this one")
    if len(attentions) != settings.n_layers or attentions[0].shape[1] != settings.n_heads:
        raise AttentionSetupError(
            f"{where}: the encoder has {len(attentions)} layers of {attentions[0].shape[1]} heads, the settings "
            f"say n_layers = {settings.n_layers}, n_heads = {settings.n_heads}: set them to the encoder's")
    if need_grad and GRAD_MARKER not in output:
        raise AttentionSetupError(
            f"{where}: grad = true needs the attention weights to pass gradients back to the encoder, which "
            "spacy-transformers' TransformerModel does not do: set [components.transformer.model] "
            '@architectures = "spacy_jere.AttentionTransformerModel.v1" (or grad = false)')
    return attentions


def sentence_attentions(ops, trf_datas, sentences: Sequence[Tuple[int, int, int]], settings, where: str,
                        is_train: bool):
    """(R, F, N, N) token attentions of the ``sentences`` (doc index, doc-local start,
    end), padded to the longest (N), and a backprop that gives per doc the gradient of
    its selected layers' wordpiece attentions, ``(windows, len(settings.layers), heads,
    P, P)`` (None for the docs without a sentence)."""
    xp = ops.xp
    layers = settings.layers
    need_grad = is_train and settings.grad
    per_doc = {}
    plans = []
    for doc, start, end in sentences:
        if doc not in per_doc:
            per_doc[doc] = check_attentions(trf_datas[doc], settings, where, need_grad)
        attentions = per_doc[doc]
        align = trf_datas[doc].align
        plans.append(plan_sentence(align.lengths, align.dataXd, attentions[0].shape[-1], start, end, doc, xp))
    longest = max((plan.n_tokens for plan in plans), default=1)
    output = xp.zeros((len(plans), settings.width, longest, longest), dtype="float32")
    for row, plan in enumerate(plans):
        n = plan.n_tokens
        output[row, :, :n, :n] = token_attentions(plan, per_doc[plan.doc], layers, xp)

    def backprop(d_output) -> List[Optional[object]]:
        d_docs: List[Optional[object]] = [None] * len(trf_datas)
        for doc, attentions in per_doc.items():
            shape = (attentions[0].shape[0], len(layers)) + tuple(attentions[0].shape[1:])
            d_docs[doc] = xp.zeros(shape, dtype="float32")
        for row, plan in enumerate(plans):
            n = plan.n_tokens
            token_attentions_backward(plan, d_output[row, :, :n, :n], d_docs[plan.doc], layers, settings.n_heads, xp)
        return d_docs

    return output, backprop


def drop_piece_attentions(trf_datas) -> None:
    """Release the wordpiece attentions of docs that were read (inference)."""
    for trf_data in trf_datas:
        output = trf_data.model_output
        if hasattr(output, "keys") and ATTENTIONS in output:
            trf_data.model_output = ModelOutput({k: v for k, v in output.items() if k != ATTENTIONS})


class ExtraGradients:
    """The gradients of a training batch's outputs other than ``last_hidden_state`` (the
    attentions' and the markers'), summed over whoever sends them, full-batch arrays
    (windows first) by output name; the transformer's backprop takes them.

    ``windows``: per doc its first and end window in the batch; ``shapes``: the full
    shape of each output that may get a gradient."""

    def __init__(self, windows: Sequence[Tuple[int, int]], shapes: dict):
        self.windows, self.shapes = list(windows), dict(shapes)
        self.grads: dict = {}
        self.open = True

    def add(self, doc: int, name: str, grad) -> None:
        if not self.open:  # the transformer has backpropagated already: as for last_hidden_state, dropped
            return
        start, end = self.windows[doc]
        if name not in self.grads:
            self.grads[name] = get_array_module(grad).zeros(self.shapes[name], dtype="float32")
        self.grads[name][start:end] += grad

    def take(self) -> dict:
        grads, self.grads, self.open = self.grads, {}, False
        return grads


def attach_extra_gradients(batch, shapes: dict) -> ExtraGradients:
    """A holder for ``batch`` (a ``FullTransformerBatch``), attached to its per-doc
    ``TransformerData`` (the listeners' outputs)."""
    windows, start = [], 0
    for doc_spans in batch.spans:
        windows.append((start, start + len(doc_spans)))
        start += len(doc_spans)
    holder = ExtraGradients(windows, shapes)
    for i, data in enumerate(batch.doc_data):
        setattr(data, EXTRA_GRADIENTS, (holder, i))
    return holder


def merge_extra_gradients(holder: ExtraGradients, d_model_output) -> None:
    """Put the holder's gradients into the transformer's backprop input, by name."""
    for name, grad in holder.take().items():
        d_model_output[name] = grad


def attention_key(layer: int) -> str:
    return f"{ATTENTIONS}.{layer}"


def send_extra_gradients(trf_datas, d_docs, name_of, grad_factor: float) -> None:
    """Add each doc's gradient to its batch's ``ExtraGradients``: ``d_docs[i]`` is a
    list of (output name, gradient), or None. Docs whose ``TransformerData`` has no
    holder (a frozen or annotating-only transformer, whose listener drops the gradient
    too) are skipped."""
    for i, data in enumerate(trf_datas):
        entry = getattr(data, EXTRA_GRADIENTS, None)
        if entry is None or d_docs[i] is None:
            continue
        holder, doc = entry
        for name, grad in name_of(d_docs[i]):
            holder.add(doc, name, grad * grad_factor if grad_factor != 1.0 else grad)


def send_attention_gradients(trf_datas, d_docs, layers: Sequence[int], grad_factor: float) -> None:
    """The wordpiece-attention gradients (per doc ``(windows, len(layers), heads, P, P)``,
    ``sentence_attentions``' backprop) to the transformer, layer by layer."""
    send_extra_gradients(trf_datas, d_docs, lambda d: [(attention_key(layer), d[:, i])
                                                       for i, layer in enumerate(layers)], grad_factor)


def attention_gradient_tensors(attentions, d_model_output):
    """The attention tensors that got a gradient and their gradients."""
    tensors, grads = [], []
    for layer, tensor in enumerate(attentions):
        grad = d_model_output.get(attention_key(layer))
        if grad is not None and tensor.requires_grad:
            tensors.append(tensor)
            grads.append(_as_torch(grad).to(device=tensor.device, dtype=tensor.dtype))
    return tensors, grads


def _as_torch(array):
    return array if isinstance(array, torch.Tensor) else xp2torch(array)


# -- the transformer architecture ---------------------------------------------------


def convert_outputs_with_attentions(model: Model, inputs_outputs, is_train: bool):
    """spacy-transformers' output conversion, with a backprop into the attention
    weights as well when span_relation sent their gradient (``ExtraGradients``)."""
    _, model_output = inputs_outputs
    attentions = model_output.get(ATTENTIONS)
    if attentions is None:
        raise AttentionSetupError("spacy_jere.AttentionTransformerModel.v1: the Hugging Face model returned no "
                                  "attentions although output_attentions is set")
    hidden = model_output.last_hidden_state
    model_output[GRAD_MARKER] = torch.ones((hidden.shape[0],), device=hidden.device)

    def backprop(d_model_output: ModelOutput) -> ArgsKwargs:
        d_hidden = next(iter(d_model_output.values()))  # the listeners' (last_hidden_state)
        tensors, grad_tensors = attention_gradient_tensors(attentions, d_model_output)
        return ArgsKwargs(args=([hidden] + tensors,), kwargs={"grad_tensors": [d_hidden] + grad_tensors})

    return model_output, backprop


def attention_forward(model: Model, docs, is_train: bool):
    """spacy-transformers' ``TransformerModel`` forward, with an ``ExtraGradients``
    holder on the training batch for the attentions' gradients."""
    from spacy_transformers.layers.transformer_model import forward as transformer_forward

    output, backprop = transformer_forward(model, docs, is_train)
    if not is_train:
        return output, backprop
    attentions = output.model_output.get(ATTENTIONS)
    shapes = {attention_key(layer): tuple(tensor.shape) for layer, tensor in enumerate(attentions or ())}
    holder = attach_extra_gradients(output, shapes)

    def backprop_with_extra(d_output):
        merge_extra_gradients(holder, d_output.model_output)
        return backprop(d_output)

    return output, backprop_with_extra


@registry.architectures("spacy_jere.AttentionTransformerModel.v1")
def attention_transformer_model(
    name: str,
    get_spans: Callable,
    tokenizer_config: dict = {},  # noqa: B006 (spacy-transformers' signature)
    transformer_config: dict = {},  # noqa: B006
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},  # noqa: B006
) -> Model:
    """spacy-transformers' ``TransformerModel.v3`` with ``output_attentions`` on and
    eager attention, whose backprop also reaches the attention weights (for ASpERT's
    contribution degree with ``grad = true``). Its outputs are those of v3 plus the
    attentions (``model_output["attentions"]``) and a marker."""
    from spacy_transformers.layers.transformer_model import TransformerModel

    config = dict(transformer_config)
    config["output_attentions"] = True
    config.setdefault("attn_implementation", "eager")
    model = TransformerModel(name, get_spans, tokenizer_config, config, mixed_precision, grad_scaler_config)
    model.layers[0].attrs["convert_outputs"] = convert_outputs_with_attentions
    model._func = attention_forward
    return model
