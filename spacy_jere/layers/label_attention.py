"""The token stack of STSN (Ji et al., "sequence tagging enhanced span-based network",
section 3.2): stacked label attention between three token streams, and a BIO tagging
decoder on the label stream (3.3).

The token vectors are projected into a label stream H_L^0, an entity stream H_E^0 and
a relation stream H_R^0 (all ``width`` wide). Each of the ``n_layers`` layers (3.2.1):

    H_C = [H_E; H_R] W_C + b_C
    H_L = E&R-L-A(H_L, H_C, H_C)     the label stream attends over the task streams
    H_E = L-E-A(H_E, H_L, H_L)       the entity stream attends over the label stream
    H_R = L-R-A(H_R, H_L, H_L)       the relation stream attends over the label stream

and each unit is a multi-head attention (query from one stream, key = value from the
other) and a position-wise FFN (Linear-ReLU-Linear, ``width`` inside), each sub-layer with
a residual connection and layer normalization (3.2.2). Attention stays within a
sentence: the flat token table is laid out per sentence (one padded row a sentence, by
index arrays) and the padding is masked out of the keys.

The tag decoder is a linear layer over H_L^N. With ``label_embedding`` an embedding of
each token's tag is concatenated to H_E^N and H_R^N, which the span and relation encoders
read (3.3). Which tag, in training (``label_source``; inference always uses the
decoder's argmax): ``"gold"`` as in the paper; ``"predicted"`` the argmax as at
inference; ``"soft"`` the decoder's softmax times the embedding table (differentiable).
With gold tags the classifiers can learn to read the entities off the embedding (a
B-Peop tag gives span and type away) and then depend on the decoder being right at
inference; the other two sources train them on what inference gives them.

The stack has its own learning rate (``learn_rate_scale``, default the encoder's): at the
net's 50x it collapses within ~50 steps (its output stops depending on its input, the
encoder's gradient is 0 and entity F1 stays at 0; docs/papers.md).

Like the pruner, two faces: ``LabelAttentionStack`` is the config's object (settings,
validation, the tag loss) and ``LabelAttentionModule`` the torch module in the net.
"""
from typing import Optional, Tuple

import torch
from spacy.util import registry
from torch import nn

LABEL_SOURCES = ("gold", "predicted", "soft")


class LabelAttentionStack:
    def __init__(self, *, n_layers: int, width: Optional[int], n_heads: int, label_embedding: bool,
                 label_width: int, dropout: float, tag_loss_weight: float, label_source: str,
                 learn_rate_scale: Optional[float]):
        self.validate(n_layers=n_layers, width=width, n_heads=n_heads, label_width=label_width, dropout=dropout,
                      tag_loss_weight=tag_loss_weight, label_source=label_source, learn_rate_scale=learn_rate_scale)
        self.n_layers = n_layers
        self.width = width
        self.n_heads = n_heads
        self.label_embedding = label_embedding
        self.label_width = label_width
        self.dropout = dropout
        self.tag_loss_weight = tag_loss_weight
        self.label_source = label_source
        self.learn_rate_scale = learn_rate_scale

    @staticmethod
    def validate(*, n_layers: int, width: Optional[int], n_heads: int, label_width: int, dropout: float,
                 tag_loss_weight: float, label_source: str, learn_rate_scale: Optional[float]) -> None:
        problems = []
        if learn_rate_scale is not None and not learn_rate_scale > 0:
            problems.append(f"learn_rate_scale must be > 0 or null, got {learn_rate_scale}")
        if label_source not in LABEL_SOURCES:
            problems.append(f"label_source must be one of {', '.join(LABEL_SOURCES)}, got {label_source!r}")
        if n_layers < 1:
            problems.append(f"n_layers must be >= 1, got {n_layers}")
        if n_heads < 1:
            problems.append(f"n_heads must be >= 1, got {n_heads}")
        if width is not None and (width < 1 or (n_heads >= 1 and width % n_heads)):
            problems.append(f"width must be a positive multiple of n_heads ({n_heads}), got {width}")
        if label_width < 1:
            problems.append(f"label_width must be >= 1, got {label_width}")
        if not 0.0 <= dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {dropout}")
        if tag_loss_weight < 0:
            problems.append(f"tag_loss_weight must be >= 0, got {tag_loss_weight}")
        if problems:
            raise ValueError("LabelAttentionStack: " + "; ".join(problems))

    def stream_width(self, token_width: int) -> int:
        return self.width if self.width is not None else token_width

    def output_width(self, token_width: int) -> int:
        """Width of the entity and relation tokens the encoders read."""
        return self.stream_width(token_width) + (self.label_width if self.label_embedding else 0)

    def build(self, token_width: int, n_tags: int) -> "LabelAttentionModule":
        return LabelAttentionModule(self, token_width, n_tags)

    def loss(self, ops, tag_logits, tag_targets) -> Tuple[float, object]:
        """(loss, gradient of the logits): cross-entropy of the tag logits (T, n_tags)
        against the gold tag ids (T,), the mean over tokens, weighted."""
        n = len(tag_logits)
        if n == 0:
            return 0.0, ops.alloc2f(*tag_logits.shape)
        xp = ops.xp
        shifted = tag_logits - tag_logits.max(axis=1, keepdims=True)
        log_norm = xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        log_probs = shifted - log_norm
        rows = xp.arange(n)
        loss = -float(log_probs[rows, tag_targets].sum()) / n
        grad = xp.exp(log_probs)
        grad[rows, tag_targets] -= 1.0
        grad *= self.tag_loss_weight / n
        return self.tag_loss_weight * loss, grad.astype("float32")


class AttentionUnit(nn.Module):
    """One of E&R-L-A, L-E-A, L-R-A: the query stream attends over the memory stream
    (key = value), then a position-wise FFN; residual and layer norm after each."""

    def __init__(self, width: int, n_heads: int, dropout: float):
        super().__init__()
        self.attention = nn.MultiheadAttention(width, n_heads, dropout=dropout, batch_first=True)
        self.attention_norm = nn.LayerNorm(width)
        self.ffn = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
        self.ffn_norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: torch.Tensor, memory: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """query, memory: (n_sentences, longest, width); padding: (n_sentences, longest),
        True where a row is padding."""
        attended, _ = self.attention(query, memory, memory, key_padding_mask=padding, need_weights=False)
        hidden = self.attention_norm(query + self.dropout(attended))
        return self.ffn_norm(hidden + self.dropout(self.ffn(hidden)))


class StackLayer(nn.Module):
    def __init__(self, width: int, n_heads: int, dropout: float):
        super().__init__()
        self.combine = nn.Linear(2 * width, width)  # H_C = [H_E; H_R] W_C + b_C
        self.label_unit = AttentionUnit(width, n_heads, dropout)  # E&R-L-A
        self.entity_unit = AttentionUnit(width, n_heads, dropout)  # L-E-A
        self.relation_unit = AttentionUnit(width, n_heads, dropout)  # L-R-A

    def forward(self, labels, entities, relations, padding):
        combined = self.combine(torch.cat([entities, relations], dim=-1))
        labels = self.label_unit(labels, combined, padding)
        entities = self.entity_unit(entities, labels, padding)
        relations = self.relation_unit(relations, labels, padding)
        return labels, entities, relations


class SentenceLayout:
    """The flat token table (T rows, sentences in order) as one padded row a sentence:
    token i sits at (sentence[i], position[i]); ``padding`` (n_sentences, longest) marks
    the empty places."""

    def __init__(self, token_sentence_ids: torch.Tensor):
        _, sentence = torch.unique_consecutive(token_sentence_ids, return_inverse=True)
        counts = torch.bincount(sentence)
        firsts = torch.cumsum(counts, 0) - counts
        self.sentence = sentence
        self.position = torch.arange(sentence.shape[0], device=sentence.device) - firsts[sentence]
        self.n_sentences = int(counts.shape[0])
        self.longest = int(counts.max()) if self.n_sentences else 0
        places = torch.arange(self.longest, device=sentence.device)
        self.padding = places.unsqueeze(0) >= counts.unsqueeze(1)

    def pad(self, tokens: torch.Tensor) -> torch.Tensor:
        padded = tokens.new_zeros((self.n_sentences, self.longest, tokens.shape[-1]))
        padded[self.sentence, self.position] = tokens
        return padded

    def unpad(self, padded: torch.Tensor) -> torch.Tensor:
        return padded[self.sentence, self.position]


class LabelAttentionModule(nn.Module):
    def __init__(self, settings: LabelAttentionStack, token_width: int, n_tags: int):
        super().__init__()
        if n_tags < 2:
            raise ValueError(f"LabelAttentionStack: the tag vocabulary needs at least 2 tags, got {n_tags}")
        width = settings.stream_width(token_width)
        if width % settings.n_heads:
            raise ValueError(
                f"LabelAttentionStack: width (the token width {token_width} when width is null) must be a multiple "
                f"of n_heads ({settings.n_heads}), got {width}: set width"
            )
        self.settings = settings
        self.output_width = settings.output_width(token_width)
        self.to_labels = nn.Linear(token_width, width)
        self.to_entities = nn.Linear(token_width, width)
        self.to_relations = nn.Linear(token_width, width)
        self.layers = nn.ModuleList(
            StackLayer(width, settings.n_heads, settings.dropout) for _ in range(settings.n_layers)
        )
        self.tag_decoder = nn.Linear(width, n_tags)
        self.tag_embedding = nn.Embedding(n_tags, settings.label_width) if settings.label_embedding else None

    def forward(self, tokens: torch.Tensor, token_sentence_ids: torch.Tensor,
                gold_tags: Optional[torch.Tensor] = None):
        """tokens (T, token_width) in the batch's flat order, ``token_sentence_ids`` (T,)
        non-decreasing; ``gold_tags`` (T,) in training, None at inference. Returns entity
        tokens and relation tokens (T, output_width), the tag logits (T, n_tags) and the
        tags (T,): ``gold_tags`` when the label embedding reads them (``label_source``
        "gold" in training), else the argmax."""
        layout = SentenceLayout(token_sentence_ids)
        padding = layout.padding
        labels = layout.pad(self.to_labels(tokens))
        entities = layout.pad(self.to_entities(tokens))
        relations = layout.pad(self.to_relations(tokens))
        for layer in self.layers:
            labels, entities, relations = layer(labels, entities, relations, padding)
        tag_logits = self.tag_decoder(layout.unpad(labels))
        entities, relations = layout.unpad(entities), layout.unpad(relations)
        source = self.settings.label_source if gold_tags is not None else "predicted"
        tags = gold_tags if source == "gold" else tag_logits.detach().argmax(dim=-1)
        if self.tag_embedding is not None:
            if source == "soft":
                embedded = torch.softmax(tag_logits, dim=-1) @ self.tag_embedding.weight
            else:
                embedded = self.tag_embedding(tags)
            entities = torch.cat([entities, embedded], dim=-1)
            relations = torch.cat([relations, embedded], dim=-1)
        return entities, relations, tag_logits, tags


@registry.architectures("spacy_jere.LabelAttentionStack.v1")
def label_attention_stack(n_layers: int = 4, width: Optional[int] = None, n_heads: int = 8,
                          label_embedding: bool = True, label_width: int = 150, dropout: float = 0.1,
                          tag_loss_weight: float = 1.0, label_source: str = "gold",
                          learn_rate_scale: Optional[float] = 1.0) -> LabelAttentionStack:
    """STSN's token stack (Ji et al., 3.2-3.3): label, entity and relation streams of
    ``width`` (null: the token width, the paper's d), ``n_layers`` layers of label
    attention with ``n_heads`` heads, a BIO tagging decoder whose cross-entropy
    (``tag_loss_weight``) joins the loss; the span encoder reads the entity stream and
    the relation encoder the relation stream, each with a ``label_width`` embedding of
    the tokens' tags when ``label_embedding`` is on: in training the gold tags
    (``label_source = "gold"``, the paper's), the predicted ones (``"predicted"``) or the
    predicted distribution (``"soft"``); at inference the predicted ones.
    ``learn_rate_scale``: the stack's learning rate relative to the optimizer's (1.0: the
    encoder's; null: the net's ``learn_rate_scale``, 50 in the shipped configs, at which
    the stack collapses: docs/papers.md)."""
    return LabelAttentionStack(n_layers=n_layers, width=width, n_heads=n_heads, label_embedding=label_embedding,
                               label_width=label_width, dropout=dropout, tag_loss_weight=tag_loss_weight,
                               label_source=label_source, learn_rate_scale=learn_rate_scale)
