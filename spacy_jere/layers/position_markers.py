"""PERA's position-attentive markers in the net (Zhang et al., section 3.1-3.3, eq. 1-4):
a span's representation gains the contextual vector of the start marker [B] of its first
word and of the end marker [E] of its last word, concatenated:

    E_e(s_i) = [H_e(s_i); m_B(i); m_E(i)]                              (eq. 2-3)

Eq. 3 puts the markers before the width embedding (``[h_a; h_b; m_B; m_E; w]``), and so
does the net: the markers go between the span encoder's representation and its width
embedding, so that a relation encoder that leaves the width embedding out (PERA's eq. 4,
``span_width_embedding = false``) still reads the markers, as eq. 4 does. The span
classifier, the pruner and the relation encoder all read the wider representation.

The markers' vectors come from the encoder's input side
(``spacy_jere.MarkerTransformerModel.v1``, ``spacy_jere/transformer_markers.py``), one
[B] and one [E] per token, of the transformer's width.

Like the pruner, the part has a config face (``PositionMarkers``: it switches the
markers on, tells their width and whether to drop the markers from ``doc._.trf_data``
at inference) and a torch face (``span_markers``).
"""
import torch
from spacy.util import registry


class PositionMarkers:
    """``model.markers``: the span representations gain [B] of the first word and [E]
    of the last (2 x the token width). ``drop_markers``: at inference, remove the
    markers' vectors (``jere_markers``, ``jere_marker_tokens``) from ``doc._.trf_data``
    once read."""

    def __init__(self, drop_markers: bool = True):
        if not isinstance(drop_markers, bool):
            raise ValueError(f"PositionMarkers: drop_markers must be true or false, got {drop_markers!r}")
        self.drop_markers = drop_markers

    @staticmethod
    def width(token_width: int) -> int:
        return 2 * token_width


def span_markers(token_markers: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """(S, 2d): [B] of each span's first token and [E] of its last, from the (T, 2d)
    per-token markers ([B; E] of each token) and the (S, 2) [start, end) spans."""
    width = token_markers.shape[1] // 2
    if not spans.shape[0]:
        return token_markers.new_zeros((0, 2 * width))
    return torch.cat([token_markers[spans[:, 0], :width], token_markers[spans[:, 1] - 1, width:]], dim=-1)


def insert_markers(span_reps: torch.Tensor, markers: torch.Tensor, width_columns: int) -> torch.Tensor:
    """``[representation; markers; width embedding]`` (eq. 3): the markers go before the
    span encoder's last ``width_columns`` columns (its width embedding)."""
    split = span_reps.shape[1] - width_columns
    return torch.cat([span_reps[:, :split], markers.to(span_reps.dtype), span_reps[:, split:]], dim=-1)


@registry.architectures("spacy_jere.PositionMarkers.v1")
def position_markers(drop_markers: bool = True) -> PositionMarkers:
    """PERA's position-attentive markers (paper 000, eq. 1-4): each span's
    representation gains the contextual vectors of the [B] marker of its first word and
    the [E] marker of its last. Needs ``spacy_jere.MarkerTransformerModel.v1`` as the
    transformer and a transformer listener as ``model.tok2vec``.

    drop_markers: at inference, remove the markers' vectors from ``doc._.trf_data``
        once read (they take 2 x tokens x width floats per window; set false to keep
        them, e.g. for a second component that reads them)."""
    return PositionMarkers(drop_markers=drop_markers)
