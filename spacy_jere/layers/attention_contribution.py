"""ASpERT's attentional contribution degree (Ouyang et al., section 4.2, Algorithms 1-2,
eq. 6): the encoder's attention weights between a candidate span and the other words
of its sentence, one value per (layer, head), concatenated to the span features the
span classifier reads.

For a span ``s`` of ``k`` tokens in a sentence of ``n`` tokens and a token-level
attention matrix ``A`` (one per layer and head; row = the attending token, column = the
attended one):

- Algorithm 1 (mask): the columns of the span's own tokens are masked out, so that only
  the attention between the span and the words of the sentence around it remains. The
  rows are the span's tokens.
- Algorithm 2 (threshold, pool): an entry counts only if it is above ``theta``
  (``A * [A > theta]``), and the result is the mean over the span's ``k`` rows and the
  ``n - k`` context columns. A span that is the whole sentence has no context: 0.

Gradients: the mask ``[A > theta]`` is a constant; the entries above the threshold keep
their gradient (d f / d A = [A > theta] / (k (n - k))), the others get none.

Like the pruner, the part has two faces: ``AttentionContribution`` is the config's
object (settings, validation, the feature width) and ``contribution_degree`` the torch
computation in the net (no parameters). How the token-level matrices are made from the
encoder's wordpiece attentions: ``spacy_jere/transformer_attentions.py``.
"""
from typing import List, Optional

import torch
from spacy.util import registry


class AttentionContribution:
    """Settings of the attention features (``model.attention_features``)."""

    def __init__(self, *, theta: float, grad: bool, n_layers: int, n_heads: int, layers: Optional[List[int]],
                 drop_attentions: bool):
        self.validate(theta=theta, grad=grad, n_layers=n_layers, n_heads=n_heads, layers=layers,
                      drop_attentions=drop_attentions)
        self.theta = float(theta)
        self.grad = bool(grad)
        self.n_layers = int(n_layers)
        self.n_heads = int(n_heads)
        self.layers = list(range(n_layers)) if layers is None else [int(i) for i in layers]
        self.drop_attentions = bool(drop_attentions)

    @staticmethod
    def validate(*, theta, grad, n_layers, n_heads, layers, drop_attentions) -> None:
        problems = []
        if not 0.0 <= theta < 1.0:
            problems.append(f"theta must be in [0, 1), got {theta}")
        if n_layers < 1:
            problems.append(f"n_layers must be >= 1 (the encoder's layers), got {n_layers}")
        if n_heads < 1:
            problems.append(f"n_heads must be >= 1 (the encoder's heads per layer), got {n_heads}")
        if layers is not None:
            if not layers:
                problems.append("layers must be null (all) or a non-empty list of layer indices")
            elif len(set(layers)) != len(layers) or any(not 0 <= i < n_layers for i in layers):
                problems.append(f"layers must be distinct indices in 0..{n_layers - 1}, got {list(layers)}")
        for name, value in (("grad", grad), ("drop_attentions", drop_attentions)):
            if not isinstance(value, bool):
                problems.append(f"{name} must be true or false, got {value!r}")
        if problems:
            raise ValueError("AttentionContribution: " + "; ".join(problems))

    @property
    def width(self) -> int:
        """Features per span: one per (selected layer, head)."""
        return len(self.layers) * self.n_heads


@registry.architectures("spacy_jere.AttentionContribution.v1")
def attention_contribution(
    theta: float = 0.5,
    grad: bool = False,
    n_layers: int = 6,
    n_heads: int = 12,
    layers: Optional[List[int]] = None,
    drop_attentions: bool = True,
) -> AttentionContribution:
    """ASpERT's attentional contribution degree (paper 002, Algorithms 1-2, eq. 6): one
    feature per (layer, head) of the encoder, concatenated to the span features.

    theta: the contribution threshold (the paper's 0.5).
    grad: let the loss reach the encoder through the attention weights (needs the
        transformer architecture ``spacy_jere.AttentionTransformerModel.v1``); false:
        the attention weights are constant inputs.
    n_layers, n_heads: the encoder's layers and heads per layer (the defaults are the
        bundled MiniLM-L6's; BERT-base: 12, 12). Checked against the attentions.
    layers: the layers to use (0-based; null: all).
    drop_attentions: at inference, remove the wordpiece attentions from
        ``doc._.trf_data`` once they are read (they take layers x heads x pieces^2 floats
        per window, kept alive by every doc).
    """
    return AttentionContribution(theta=theta, grad=grad, n_layers=n_layers, n_heads=n_heads, layers=layers,
                                 drop_attentions=drop_attentions)


def contribution_degree(attentions: torch.Tensor, rows: torch.Tensor, spans: torch.Tensor,
                        span_sentences: torch.Tensor, theta: float) -> torch.Tensor:
    """(S, F): the contribution degree of each span.

    attentions: (R, F, N, N) token-level attention matrices of R sentences, padded to N
        tokens (F = layers x heads; row = attending token).
    rows: (S,) the row of ``attentions`` that holds each span's sentence.
    spans, span_sentences: (S, 2) start, end of the span and of its sentence (any common
        offset: only their differences are used).
    """
    n_spans = spans.shape[0]
    n_features = attentions.shape[1]
    if n_spans == 0:
        return attentions.new_zeros((0, n_features))
    values = attentions.float()
    kept = values * (values > theta).to(values.dtype)  # the mask is a constant
    # Summed-area table, token-major: table[r, i, j] = sum of kept[r, :, :i, :j].
    cumulative = kept.permute(0, 2, 3, 1).cumsum(1).cumsum(2)
    table = torch.nn.functional.pad(cumulative, (0, 0, 1, 0, 1, 0))
    start = spans[:, 0] - span_sentences[:, 0]
    end = spans[:, 1] - span_sentences[:, 0]
    length = span_sentences[:, 1] - span_sentences[:, 0]
    zero = torch.zeros_like(start)

    def box(r0, r1, c0, c1):
        return table[rows, r1, c1] - table[rows, r0, c1] - table[rows, r1, c0] + table[rows, r0, c0]

    span_to_sentence = box(start, end, zero, length)
    span_to_span = box(start, end, start, end)
    width = end - start
    count = (width * (length - width)).to(values.dtype).unsqueeze(-1)
    degree = (span_to_sentence - span_to_span) / count.clamp(min=1.0)
    return torch.where(count > 0, degree, torch.zeros_like(degree))
