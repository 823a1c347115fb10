"""PERA's position-attentive markers (Zhang et al., section 3.1, eq. 1-3) on the
encoder's input side: ``spacy_jere.MarkerTransformerModel.v1``.

For every word (spaCy token) of a window, two marker tokens [B_i] and [E_i] are added
to the window's encoder input. [B_i] takes the position id of the word's first
wordpiece, [E_i] that of its last, so a marker "sits" on its word; their contextual
vectors go to span_relation (``model.markers``, ``layers/position_markers.py``), where a
span gains [B] of its first word and [E] of its last.

The input. spacy-transformers tokenizes each window (``get_spans``: with the shipped
``sentence_windows.v1`` a window is a sentence, or a strided part of a long one) into
``[CLS] pieces [SEP] [PAD]...`` rows of P pieces. The markers are put after the P
columns: ``[CLS] pieces [SEP] [PAD]... B_1 E_1 B_2 E_2 ... B_n E_n [PAD]...`` (columns P
.. P + 2n), with explicit position ids (text: the model's own, ``0..P-1``, offset by
``padding_idx + 1`` for RoBERTa-style embeddings; markers: their words' pieces'),
token type 0, and an attention mask per query (a 3D mask, below). Where they sit in the
row does not matter to the encoder: only their position ids and the mask do. Only the
windows' words get markers: a word with no wordpiece (whitespace) or whose pieces were
truncated gets none (zeros, as its token vector).

The marker embeddings are two vocabulary entries (``marker_tokens``, by default BERT's
``[unused0]``/``[unused1]``, which the bundled MiniLM's uncased BERT vocabulary has):
[B_i] is the same learned vector for every word, and so is [E_i]; position and context
make them differ. Reusing the vocabulary keeps them in the encoder's embedding matrix,
so they are trained with it and saved and loaded with its weights, with no new
parameter and no change to the tokenizer; unused entries were never trained, so they
carry no meaning to unlearn.

Attention (``marker_attention``). ``"levitated"`` (default): the text attends to the
text only, as without markers, and a marker attends to the text and to its own pair
([B_i] and [E_i]), the "levitated markers" of Ye et al. 2021, which PERA cites. The
text's vectors are then those of the same model without markers (the listener's token
vectors do not change, nor do another listener's), markers of different words do not
mix, and the cost grows linearly with the number of markers in the attention's keys.
``"full"``: every position attends to every other, as the paper describes (section 3.1
appends the markers to the sentence); the 2n marker keys then also change the text's
vectors.

The output. The text part of the encoder's output (columns 0..P-1) is
``last_hidden_state`` as spacy-transformers makes it, so its alignment, the listener
and its pooling are unchanged; the markers' vectors go to ``model_output["jere_markers"]``
(windows, 2n, width) with ``model_output["jere_marker_tokens"]`` (windows, n), the
doc-local token index of each pair (-1: padding). Both have one row per window, so
``FullTransformerBatch.split_by_doc`` hands each doc its own, next to its
``last_hidden_state`` in ``doc._.trf_data`` and the listener's ``TransformerData``. The
span_relation model reads them there (``marker_vectors``): a word in several windows
(strided windows of a long sentence) gets the mean of its windows' markers.

With ``transformer_config = {"output_attentions": true}`` (and eager attention) the
encoder's attention weights are returned too, cut to the text's block (P x P), for
ASpERT's ``attention_features``, which can then have ``grad = true`` with this
architecture: both features in one pipeline.

Gradients: span_relation sends the markers' gradient (and with ``grad = true`` the
attentions') not through its listener but into the batch's ``ExtraGradients`` holder
(``transformer_attentions``), which ``marker_forward`` attached to the batch's
``TransformerData``; the backprop here puts it and the listeners' ``last_hidden_state``
gradient back into the encoder's output. So other listeners of the same transformer (a
``ner``) may backpropagate before or after span_relation.
"""
import inspect
from typing import Callable, List, Optional, Sequence

import numpy
import torch
from spacy.util import registry
from thinc.api import ArgsKwargs, Model
from transformers.file_utils import ModelOutput

from .transformer_attentions import (
    ATTENTIONS,
    GRAD_MARKER,
    _as_torch,
    attach_extra_gradients,
    attention_gradient_tensors,
    attention_key,
    merge_extra_gradients,
    send_extra_gradients,
)

MARKERS = "jere_markers"
MARKER_TOKENS = "jere_marker_tokens"
ATTENTION_RULES = ("levitated", "full")
ARCHITECTURE = "spacy_jere.MarkerTransformerModel.v1"


class MarkerSetupError(ValueError):
    pass


class MarkerPlan:
    """The markers of one batch of windows: ``tokens`` (W, n) the doc-local token index
    of each pair slot (-1: none), ``first``/``last`` (W, n) the piece positions of that
    token in the window (its first and last piece), ``n_pieces`` the text columns P."""

    def __init__(self, tokens, first, last, n_pieces: int):
        self.tokens, self.first, self.last, self.n_pieces = tokens, first, last, n_pieces

    @property
    def n_pairs(self) -> int:
        return self.tokens.shape[1]


def plan_markers(flat_spans: Sequence, align_lengths, align_data, n_pieces: int) -> MarkerPlan:
    """Which words get markers in which window, and their pieces' positions.

    ``align_lengths``/``align_data``: spacy-transformers' alignment of the batch (one row
    per token of each doc with a window, docs in the order of their first window; piece
    indices into the flattened ``windows x n_pieces``)."""
    lengths = numpy.asarray(align_lengths, dtype="int64").reshape(-1)
    data = numpy.asarray(align_data, dtype="int64").reshape(-1)
    n_windows = len(flat_spans)
    # the first align row of each window's doc (get_token_positions' order)
    doc_offsets, window_offset = {}, numpy.zeros((n_windows,), dtype="int64")
    total = 0
    for w, span in enumerate(flat_spans):
        key = id(span.doc)
        if key not in doc_offsets:
            doc_offsets[key] = total
            total += len(span.doc)
        window_offset[w] = doc_offsets[key]
    rows = numpy.repeat(numpy.arange(len(lengths), dtype="int64"), lengths)
    windows, positions = data // n_pieces, data % n_pieces
    # one group per (window, row), rows ascending within a window (tokens in order)
    keys = windows * max(len(lengths), 1) + rows
    order = numpy.lexsort((positions, keys))
    keys, positions, windows, rows = keys[order], positions[order], windows[order], rows[order]
    if not len(keys):
        empty = numpy.zeros((n_windows, 0), dtype="int64")
        return MarkerPlan(empty, empty, empty, n_pieces)
    starts = numpy.flatnonzero(numpy.r_[True, keys[1:] != keys[:-1]])
    ends = numpy.r_[starts[1:], len(keys)]
    group_window, group_row = windows[starts], rows[starts]
    first, last = positions[starts], positions[ends - 1]
    per_window = numpy.bincount(group_window, minlength=n_windows)
    window_start = numpy.r_[0, numpy.cumsum(per_window)[:-1]]
    slot = numpy.arange(len(starts)) - window_start[group_window]
    n = int(per_window.max())
    tokens = numpy.full((n_windows, n), -1, dtype="int64")
    first_pos = numpy.zeros((n_windows, n), dtype="int64")
    last_pos = numpy.zeros((n_windows, n), dtype="int64")
    tokens[group_window, slot] = group_row - window_offset[group_window]
    first_pos[group_window, slot] = first
    last_pos[group_window, slot] = last
    return MarkerPlan(tokens, first_pos, last_pos, n_pieces)


def marker_inputs(plan: MarkerPlan, input_ids, attention_mask, token_type_ids, marker_ids, pad_id: int,
                  position_offset: int, rule: str):
    """The extended encoder input (numpy): ``input_ids``, ``position_ids``,
    ``token_type_ids`` (W, L) and ``attention_mask`` ((W, L, L) for ``"levitated"``,
    (W, L) for ``"full"``), L = P + 2n."""
    input_ids = numpy.asarray(input_ids, dtype="int64")
    text_valid = numpy.asarray(attention_mask).astype(bool)
    n_windows, n_pieces = input_ids.shape
    n = plan.n_pairs
    valid = plan.tokens >= 0  # (W, n)
    marker_valid = numpy.repeat(valid, 2, axis=1)  # B_1 E_1 B_2 E_2 ...
    ids = numpy.empty((n_windows, 2 * n), dtype="int64")
    ids[:, 0::2], ids[:, 1::2] = marker_ids
    ids[~marker_valid] = pad_id
    positions = numpy.empty((n_windows, 2 * n), dtype="int64")
    positions[:, 0::2], positions[:, 1::2] = plan.first, plan.last
    positions[~marker_valid] = 0
    text_positions = numpy.broadcast_to(numpy.arange(n_pieces, dtype="int64"), (n_windows, n_pieces))
    out = {
        "input_ids": numpy.concatenate([input_ids, ids], axis=1),
        "position_ids": numpy.concatenate([text_positions, positions], axis=1) + position_offset,
    }
    types = numpy.zeros((n_windows, n_pieces), dtype="int64") if token_type_ids is None else \
        numpy.asarray(token_type_ids, dtype="int64")
    out["token_type_ids"] = numpy.concatenate([types, numpy.zeros((n_windows, 2 * n), dtype="int64")], axis=1)
    keys = numpy.concatenate([text_valid, marker_valid], axis=1)
    if rule == "full":
        out["attention_mask"] = keys.astype("int64")
        return out
    length = n_pieces + 2 * n
    mask = numpy.zeros((n_windows, length, length), dtype="uint8")  # 1: attend (the model makes it additive)
    mask[:, :, :n_pieces] = text_valid[:, None, :]  # every query sees the text (padding too: no empty row)
    pair_block = numpy.kron(numpy.eye(n, dtype="uint8"), numpy.ones((2, 2), dtype="uint8"))
    mask[:, n_pieces:, n_pieces:] = pair_block[None] * marker_valid[:, :, None] * marker_valid[:, None, :]
    out["attention_mask"] = mask
    return out


class _Setup:
    """What the first batch learns about the encoder: the markers' ids, the pad id, the
    position ids' offset, the arguments its forward takes."""

    def __init__(self, marker_ids, pad_id: int, position_offset: int, token_types: bool):
        self.marker_ids, self.pad_id, self.position_offset, self.token_types = (
            marker_ids, pad_id, position_offset, token_types)


def encoder_setup(model: Model, marker_tokens: Sequence[str]) -> _Setup:
    shim = model.shims[0]
    cached = model.attrs.get("_marker_setup")
    if cached is not None and cached[0] is shim._hfmodel.transformer:
        return cached[1]
    hf = shim._hfmodel
    tokenizer, transformer = hf.tokenizer, hf.transformer
    ids = tokenizer.convert_tokens_to_ids(list(marker_tokens))
    unknown = [tok for tok, i in zip(marker_tokens, ids, strict=True)
               if i is None or (i == tokenizer.unk_token_id and tok != tokenizer.unk_token)]
    if unknown:
        raise MarkerSetupError(
            f"{ARCHITECTURE}: the marker tokens {unknown} are not in the vocabulary of "
            f"{hf.transformer.name_or_path!r}: "
            "set marker_tokens on [components.transformer.model] to two tokens of its vocabulary that the texts do "
            "not use (BERT vocabularies: [\"[unused0]\", \"[unused1]\"])")
    parameters = inspect.signature(type(transformer).forward).parameters
    name = f"{type(transformer).__name__} ({transformer.name_or_path!r})"
    if "position_ids" not in parameters:
        raise MarkerSetupError(
            f"{ARCHITECTURE}: the encoder {name} takes no position_ids, so markers cannot share their words' "
            "positions: use an encoder with absolute position embeddings (BERT, RoBERTa, ...) or remove the markers")
    problem = _position_problem(transformer.config)
    embeddings = getattr(transformer, "embeddings", None)
    padding_idx = getattr(embeddings, "padding_idx", None)
    offset = padding_idx + 1 if padding_idx is not None else 0
    rule = model.attrs["marker_attention"]
    probe = {}
    if problem is None:
        probe = _probe_encoder(transformer, ids, offset, check_mask=rule == "levitated")
        problem = probe.get("positions")
    if problem is not None:
        raise MarkerSetupError(
            f"{ARCHITECTURE}: the encoder {name} {problem}; markers need absolute position embeddings (their "
            "position ids are their words'): use an encoder that has them (BERT, RoBERTa, ...) or remove the "
            "markers")
    if probe.get("mask"):
        raise MarkerSetupError(
            f"{ARCHITECTURE}: the encoder {name} {probe['mask']}, which marker_attention = \"levitated\" needs: "
            'set marker_attention = "full" on [components.transformer.model] or use another encoder (BERT, '
            "RoBERTa, ...)")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    setup = _Setup(numpy.asarray(ids, dtype="int64"), int(pad_id), int(offset), "token_type_ids" in parameters)
    model.attrs["_marker_setup"] = (transformer, setup)
    return setup


def _position_problem(config) -> Optional[str]:
    """Why the encoder's config says position ids are not (only) absolute, or None."""
    kind = getattr(config, "position_embedding_type", "absolute")
    if kind != "absolute":
        return f"has position_embedding_type = {kind!r}"
    if getattr(config, "relative_attention", False):  # DeBERTa (v2 / v3 use it, with no absolute positions)
        return "uses relative attention (positions from the sequence order, not position_ids)"
    if getattr(config, "position_biased_input", True) is False:
        return "adds no position embeddings to its input (position_biased_input = false), so it ignores position_ids"
    return None


def _probe_encoder(transformer, ids, offset: int, check_mask: bool) -> dict:
    """Two tiny forward passes or three (no gradient, dropout off): whether shifting
    ``position_ids`` changes the output (absolute positions), and whether a 3D
    attention mask is accepted and honoured. Returns the problems found, by name."""
    device = transformer.device
    input_ids = torch.as_tensor([[int(ids[0]), int(ids[1]), int(ids[0]), int(ids[1])]], device=device)
    positions = torch.arange(4, device=device)[None] + offset
    problems = {}
    training = transformer.training
    transformer.eval()
    try:
        with torch.no_grad():
            def run(**kwargs):
                return transformer(input_ids=input_ids, **kwargs).last_hidden_state.float()

            ones = torch.ones((1, 4), dtype=torch.long, device=device)
            base = run(position_ids=positions, attention_mask=ones)
            shifted = run(position_ids=positions + 1, attention_mask=ones)
            if torch.allclose(base, shifted, atol=1e-6):
                problems["positions"] = "ignores position_ids (its output does not change with them)"
            if check_mask:
                mask = torch.ones((1, 4, 4), dtype=torch.uint8, device=device)
                mask[0, 0, 1:] = 0  # the first query sees only itself
                try:
                    got = run(position_ids=positions, attention_mask=mask)
                except Exception as error:  # noqa: BLE001 (any failure means: no 3D mask)
                    detail = str(error).splitlines()[0][:200] if str(error) else ""
                    problems["mask"] = f"does not take a 3D attention mask ({type(error).__name__}: {detail})"
                else:
                    if tuple(got.shape) != tuple(base.shape) or torch.allclose(got[0, 0], base[0, 0], atol=1e-6):
                        problems["mask"] = "does not apply a 3D attention mask (one row of keys per query)"
    finally:
        transformer.train(training)
    return problems


def convert_marker_inputs(model: Model, inputs, is_train: bool):
    """(wordpieces, plan) -> the encoder's kwargs with markers; plain wordpieces (the
    transformer's own initialize) -> spacy-transformers' kwargs."""
    from spacy_transformers.layers.transformer_model import _convert_transformer_inputs

    if not isinstance(inputs, tuple):
        return _convert_transformer_inputs(model, inputs, is_train)
    wps, plan = inputs
    setup = encoder_setup(model, model.attrs["marker_tokens"])
    arrays = marker_inputs(plan, _host(wps.input_ids), _host(wps.attention_mask), _host(wps.token_type_ids),
                           setup.marker_ids, setup.pad_id, setup.position_offset, model.attrs["marker_attention"])
    device = model.shims[0]._hfmodel.transformer.device
    kwargs = {name: torch.as_tensor(value, device=device) for name, value in arrays.items()
              if name != "token_type_ids" or setup.token_types}
    return ArgsKwargs(args=(), kwargs=kwargs), lambda dX: []


def _host(array):
    if array is None:
        return None
    return array.get() if hasattr(array, "get") else numpy.asarray(array)


def convert_marker_outputs(model: Model, inputs_outputs, is_train: bool):
    """Split the encoder's output into the text (``last_hidden_state``, P columns) and
    the markers (``jere_markers``), and backprop both."""
    from spacy_transformers.layers.transformer_model import _convert_transformer_outputs

    inputs, model_output = inputs_outputs
    if not isinstance(inputs, tuple):
        return _convert_transformer_outputs(model, inputs_outputs, is_train)
    _, plan = inputs
    hidden = model_output.last_hidden_state
    p = plan.n_pieces
    output = ModelOutput()
    output["last_hidden_state"] = hidden[:, :p]
    output[MARKERS] = hidden[:, p:]
    output[MARKER_TOKENS] = torch.as_tensor(plan.tokens, device=hidden.device)
    # With output_attentions (ASpERT's features): the text's block only, so that the
    # alignment's piece indices (window x P) hold, and a gradient path into them. A copy,
    # so that the (W, H, L, L) weights are not kept alive by a view at inference.
    attentions = model_output.get(ATTENTIONS)
    if attentions is not None:
        attentions = tuple(layer[:, :, :p, :p].contiguous() for layer in attentions)
        output[ATTENTIONS] = attentions
        output[GRAD_MARKER] = torch.ones((hidden.shape[0],), device=hidden.device)
    for key, value in model_output.items():
        if key not in output:
            output[key] = value

    def backprop(d_model_output: ModelOutput) -> ArgsKwargs:
        # the listeners' last_hidden_state gradient first; the markers' and the
        # attentions' by name (ExtraGradients, merged by marker_forward's backprop)
        d_text = next(iter(d_model_output.values()))
        d_markers = d_model_output.get(MARKERS)
        if d_markers is None:
            d_markers = torch.zeros(output[MARKERS].shape, dtype=d_text.dtype, device=d_text.device)
        d_hidden = torch.cat([d_text.to(hidden.device),
                              _as_torch(d_markers).to(device=hidden.device, dtype=d_text.dtype)], dim=1)
        tensors, grads = ([], []) if attentions is None else attention_gradient_tensors(attentions, d_model_output)
        return ArgsKwargs(args=([hidden] + tensors,), kwargs={"grad_tensors": [d_hidden.to(hidden.dtype)] + grads})

    return output, backprop


def marker_forward(model: Model, docs, is_train: bool):
    """spacy-transformers' ``TransformerModel`` forward, with the batch's marker plan
    passed to the encoder next to the wordpieces."""
    from spacy_transformers.align import get_alignment, get_alignment_via_offset_mapping
    from spacy_transformers.data_classes import FullTransformerBatch, WordpieceBatch
    from spacy_transformers.layers.transformer_model import huggingface_tokenize
    from spacy_transformers.truncate import truncate_oversize_splits
    from spacy_transformers.util import maybe_flush_pytorch_cache

    tokenizer = model.tokenizer
    transformer = model.layers[0]
    nested_spans = model.attrs["get_spans"](docs)
    flat_spans = [span for doc_spans in nested_spans for span in doc_spans]
    maybe_flush_pytorch_cache(chance=model.attrs.get("flush_cache_chance", 0))
    batch_encoding = huggingface_tokenize(tokenizer, [span.text for span in flat_spans])
    wordpieces = WordpieceBatch.from_batch_encoding(batch_encoding)
    if "offset_mapping" in batch_encoding:
        align = get_alignment_via_offset_mapping(flat_spans, batch_encoding["offset_mapping"])
    else:
        align = get_alignment(flat_spans, wordpieces.strings, tokenizer.all_special_tokens)
    wordpieces, align = truncate_oversize_splits(wordpieces, align, tokenizer.model_max_length)
    plan = plan_markers(flat_spans, _host(align.lengths), _host(align.dataXd), int(wordpieces.input_ids.shape[1]))
    model_output, bp_tensors = transformer((wordpieces, plan), is_train)
    output = FullTransformerBatch(spans=nested_spans, wordpieces=wordpieces, model_output=model_output, align=align)
    holder = None
    if is_train:
        shapes = {MARKERS: tuple(model_output[MARKERS].shape)}
        for layer, tensor in enumerate(model_output.get(ATTENTIONS) or ()):
            shapes[attention_key(layer)] = tuple(tensor.shape)
        holder = attach_extra_gradients(output, shapes)

    def backprop(d_output) -> List:
        if holder is not None:
            merge_extra_gradients(holder, d_output.model_output)
        bp_tensors(d_output.model_output)
        return docs

    return output, backprop


def check_rule(marker_tokens: Sequence[str], marker_attention: str) -> None:
    problems = []
    if marker_attention not in ATTENTION_RULES:
        problems.append(f"marker_attention must be one of {list(ATTENTION_RULES)}, got {marker_attention!r}")
    tokens = list(marker_tokens) if not isinstance(marker_tokens, str) else [marker_tokens]
    if len(tokens) != 2 or len(set(tokens)) != 2 or not all(isinstance(t, str) and t for t in tokens):
        problems.append(f"marker_tokens must be two different vocabulary tokens ([B], [E]), got {marker_tokens!r}")
    if problems:
        raise MarkerSetupError(f"{ARCHITECTURE}: " + "; ".join(problems))


@registry.architectures(ARCHITECTURE)
def marker_transformer_model(
    name: str,
    get_spans: Callable,
    tokenizer_config: dict = {},  # noqa: B006 (spacy-transformers' signature)
    transformer_config: dict = {},  # noqa: B006
    mixed_precision: bool = False,
    grad_scaler_config: dict = {},  # noqa: B006
    marker_tokens: Sequence[str] = ("[unused0]", "[unused1]"),
    marker_attention: str = "levitated",
) -> Model:
    """spacy-transformers' ``TransformerModel.v3`` whose encoder input has PERA's
    position-attentive markers: for every word of a window [B_i] and [E_i]
    (``marker_tokens``), with the position ids of its first and last wordpiece;
    ``marker_attention`` "levitated" (the text does not see the markers; a marker sees
    the text and its pair) or "full". The outputs are v3's (``last_hidden_state`` is
    the text's) plus the markers' vectors (``model_output["jere_markers"]``) and their
    words (``model_output["jere_marker_tokens"]``)."""
    from spacy_transformers.layers.transformer_model import TransformerModel

    check_rule(marker_tokens, marker_attention)
    config = dict(transformer_config)
    if config.get("output_attentions"):
        config.setdefault("attn_implementation", "eager")
    model = TransformerModel(name, get_spans, tokenizer_config, config, mixed_precision, grad_scaler_config)
    model._func = marker_forward
    wrapper = model.layers[0]
    wrapper.attrs["convert_inputs"] = convert_marker_inputs
    wrapper.attrs["convert_outputs"] = convert_marker_outputs
    wrapper.attrs["marker_tokens"] = list(marker_tokens)
    wrapper.attrs["marker_attention"] = marker_attention
    return model


# -- the span_relation side: per-token marker vectors from TransformerData ------------------


def check_markers(trf_data, where: str):
    output = trf_data.model_output
    markers = output.get(MARKERS) if hasattr(output, "get") else None
    if markers is None:
        if "last_hidden_state" in output:
            raise MarkerSetupError(
                f"{where}: the transformer's output has no marker vectors (model_output['{MARKERS}']): model.markers "
                f'needs [components.transformer.model] @architectures = "{ARCHITECTURE}" (or remove '
                "[components.span_relation.model.markers])")
        raise MarkerSetupError(
            f"{where}: the docs have no transformer output (doc._.trf_data); model.markers needs the 'transformer' "
            "component to run before this one")
    return markers, output[MARKER_TOKENS]


def marker_vectors(ops, trf_datas, n_tokens: Sequence[int], width: int, where: str):
    """Per doc a (tokens, 2 x width) array: [B] then [E] vector of each token, the mean
    over the windows that give it markers (zeros for a token with none); and a backprop
    that gives per doc the gradient of its ``jere_markers`` (None for docs without)."""
    xp = ops.xp
    outputs, plans = [], []
    for trf_data, n in zip(trf_datas, n_tokens, strict=True):
        if n == 0 or "last_hidden_state" not in trf_data.model_output:
            outputs.append(ops.alloc2f(n, 2 * width))
            plans.append(None)
            continue
        markers, tokens = check_markers(trf_data, where)
        n_windows, n_slots, got = markers.shape
        if got != width:
            raise MarkerSetupError(f"{where}: the markers are {got} wide, the token vectors {width}: the listener "
                                   "must pool the same transformer that makes the markers")
        tokens = xp.asarray(tokens).reshape(-1)
        valid = xp.nonzero(tokens >= 0)[0]
        index = tokens[valid]
        counts = xp.bincount(index, minlength=n).astype("float32")
        flat = xp.asarray(markers, dtype="float32").reshape(n_windows * (n_slots // 2), 2 * width)
        summed = ops.alloc2f(n, 2 * width)
        if len(index):
            ops.scatter_add(summed, index.astype("int32"), flat[valid])
        scale = 1.0 / xp.maximum(counts, 1.0)
        outputs.append(summed * scale[:, None])
        plans.append((valid, index, scale, markers.shape))

    def backprop(d_outputs) -> List[Optional[object]]:
        d_docs: List[Optional[object]] = []
        for plan, d_out in zip(plans, d_outputs, strict=True):
            if plan is None:
                d_docs.append(None)
                continue
            valid, index, scale, shape = plan
            n_windows, n_slots, w = shape
            d_flat = xp.zeros((n_windows * (n_slots // 2), 2 * w), dtype="float32")
            d_flat[valid] = (d_out * scale[:, None])[index]
            d_docs.append(d_flat.reshape(shape))
        return d_docs

    return outputs, backprop


def drop_marker_outputs(trf_datas) -> None:
    """Release the markers' vectors of docs that were read (inference)."""
    for trf_data in trf_datas:
        output = trf_data.model_output
        if hasattr(output, "keys") and (MARKERS in output or MARKER_TOKENS in output):
            trf_data.model_output = ModelOutput({k: v for k, v in output.items() if k not in (MARKERS, MARKER_TOKENS)})


def send_marker_gradients(trf_datas, d_docs, grad_factor: float) -> None:
    """Each doc's marker gradient (``marker_vectors``' backprop) to the transformer,
    through the batch's ``ExtraGradients`` (not the listener)."""
    send_extra_gradients(trf_datas, d_docs, lambda d: [(MARKERS, d)], grad_factor)
