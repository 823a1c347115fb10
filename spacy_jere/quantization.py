"""Optional int8 CPU inference: dynamic quantization of the transformer's linear layers.

``quantize_pipeline(nlp)`` swaps every ``torch.nn.Linear`` of the pipeline's transformer
models (spacy-transformers' Hugging Face shims) for a dynamically quantized one: int8
weights (one scale per output channel), activations quantized per batch on the fly. It is applied to a loaded pipeline
(weights must be read first) and only for inference: the quantized layers have no
backward pass. The span_relation head stays in float32: it is about a tenth of the
inference time (bench/inference) and some of its parts read their weights directly.
Speed-up and F1 change on CoNLL04 dev: ``python -m spacy_jere.experiments quantization``
-> bench/quantization/.
"""
from typing import List

from spacy.language import Language


class QuantizationError(ValueError):
    """The pipeline cannot be quantized; the message says why."""


def transformer_modules(nlp: Language) -> List[tuple]:
    """(component name, torch module) of every Hugging Face model in the pipeline."""
    from spacy_transformers.layers.hf_shim import HFShim

    found = []
    for name, pipe in nlp.components:
        model = getattr(pipe, "model", None)
        if model is None or not hasattr(model, "walk"):
            continue
        for node in model.walk():
            for shim in node.shims:
                if isinstance(shim, HFShim):
                    found.append((name, shim._model))
    return found


SCHEMES = ("per_tensor", "per_channel")


def quantize_pipeline(nlp: Language, scheme: str = "per_channel") -> List[str]:
    """Quantize the pipeline's transformers in place (CPU only); returns the names of the
    components whose models were quantized. ``scheme``: one int8 scale per output channel
    of each weight matrix (the default) or one per matrix (torch's default). On CoNLL04
    dev (bench/quantization/) per-channel kept F1 where per-matrix lost 1-1.5 points, at
    the same speed."""
    import torch

    if scheme not in SCHEMES:
        raise QuantizationError(f"int8: scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    qconfig = (torch.ao.quantization.per_channel_dynamic_qconfig if scheme == "per_channel"
               else torch.ao.quantization.default_dynamic_qconfig)

    modules = transformer_modules(nlp)
    if not modules:
        raise QuantizationError(
            f"int8: the pipeline ({', '.join(nlp.pipe_names) or 'no components'}) has no transformer component "
            "to quantize")
    quantized = []
    for name, module in modules:
        if any(p.device.type != "cpu" for p in module.parameters()):
            raise QuantizationError(f"int8: component '{name}' runs on {next(module.parameters()).device}; dynamic "
                                    "quantization is for the CPU only (leave out --gpu-id or int8)")
        module.eval()
        # quantize_dynamic swaps child modules in place when inplace=True, so the shim
        # keeps its reference to the (now quantized) model.
        torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear: qconfig}, dtype=torch.qint8, inplace=True)
        quantized.append(name)
    return quantized
