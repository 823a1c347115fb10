"""Paper 001's span-specific representation (MLP attention inside the span)."""
import pytest
import torch

from spacy_jere.architectures import attention_relation_encoder, attention_span_encoder
from spacy_jere.layers.attention import SHARED_RANGE_FACTOR, VARIANTS, RangeAttention
from spacy_jere.layers.pooling import RangeMaxTable
from spacy_jere.layers.ragged import ragged_positions, segment_softmax, weighted_sum

from .conftest import make_examples, train


def test_ragged_positions_and_empty_ranges():
    rows, cols = ragged_positions(torch.tensor([2, 5, 0]), torch.tensor([4, 5, 1]))
    assert rows.tolist() == [0, 0, 2] and cols.tolist() == [2, 3, 0]


def test_segment_softmax_sums_to_one_per_row():
    scores = torch.tensor([1.0, 2.0, 3.0, 100.0, -100.0])
    rows = torch.tensor([0, 0, 0, 1, 1])
    weights = segment_softmax(scores, rows, 2)
    assert torch.allclose(weights[:3].sum(), torch.tensor(1.0))
    assert torch.allclose(weights[3:], torch.tensor([1.0, 0.0]))
    assert torch.allclose(weights[:3], torch.softmax(scores[:3], 0))


def test_weighted_sum_matches_dense_and_empty_rows_are_zero():
    values = torch.randn(5, 3)
    rows, cols = torch.tensor([0, 0, 2]), torch.tensor([1, 4, 3])
    weights = torch.tensor([0.25, 0.75, 1.0])
    out = weighted_sum(weights, rows, cols, 3, values)
    assert torch.allclose(out[0], 0.25 * values[1] + 0.75 * values[4])
    assert torch.equal(out[1], torch.zeros(3))
    assert torch.allclose(out[2], values[3])


def test_attention_span_encoder_shapes_single_token_and_gradients():
    torch.manual_seed(0)
    tokens = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    enc = attention_span_encoder(width_embedding_size=2, attention_hidden=5)(token_width=4, max_span_width=3).double()
    spans = torch.tensor([[0, 1], [2, 5], [5, 9]])  # one token; three; a wide gold span
    sents = torch.tensor([[0, 9]] * 3)
    reps, ctx = enc(RangeMaxTable(tokens, 9), spans, sents)
    assert reps.shape == (3, 4 * 3 + 2) and enc.output_width == 14 and ctx.shape == (3, 4)
    # a one-token span: attention weight 1 on its token; head and tail are that token
    assert torch.allclose(reps[0, :4], tokens[0]) and torch.allclose(reps[0, 4:8], tokens[0])
    assert torch.allclose(reps[0, 8:12], tokens[0])
    # F_s is a convex combination of the span's tokens
    inside = tokens[2:5]
    assert (reps[1, :4] <= inside.max(0).values + 1e-9).all() and (reps[1, :4] >= inside.min(0).values - 1e-9).all()
    assert torch.autograd.gradcheck(lambda x: enc(RangeMaxTable(x, 9), spans, sents)[0], (tokens,))


def test_without_head_tail():
    enc = attention_span_encoder(width_embedding_size=2, head_tail=False)(token_width=4, max_span_width=3)
    reps, _ = enc(RangeMaxTable(torch.randn(5, 4), 5), torch.tensor([[0, 2]]), torch.tensor([[0, 5]]))
    assert reps.shape == (1, 6)


def test_loss_decreases_with_attention_spans(nlp):
    config = {"model": {"span_encoder": {"@architectures": "spacy_jere.AttentionSpanEncoder.v1"}}}
    nlp.add_pipe("span_relation", config=config)
    losses = train(nlp, make_examples(nlp), n_iter=15)
    assert losses[-1] < 0.5 * losses[0]
    doc = nlp("John Smith works for Acme Corp in Boston .")
    assert len(doc.spans["entities"]) > 0


@pytest.mark.parametrize("variant", VARIANTS)
def test_range_attention_variants_shapes_masking_gradients(variant):
    torch.manual_seed(0)
    tokens = torch.randn(10, 16, dtype=torch.float64, requires_grad=True)
    queries = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    att = RangeAttention(6, 16, variant, attention_width=8, n_heads=8).double()
    starts, ends = torch.tensor([0, 3, 5, 7]), torch.tensor([3, 3, 6, 10])  # second: empty
    out = att(queries, tokens, starts, ends)
    assert out.shape == (4, 16)
    assert torch.equal(out[1], torch.zeros(16, dtype=torch.float64))
    assert torch.allclose(out[2], tokens[5])  # one token: all weight on it
    # tokens outside a range do not change its output
    moved = tokens.detach().clone()
    moved[4] += 100.0
    assert torch.allclose(att(queries, moved, starts, ends)[0], out[0])
    assert torch.autograd.gradcheck(lambda q, t: att(q, t, starts, ends), (queries, tokens))


def test_range_attention_bad_settings():
    with pytest.raises(ValueError, match="must be one of"):
        RangeAttention(4, 8, "cosine")
    with pytest.raises(ValueError, match="multiples of n_heads"):
        RangeAttention(4, 10, "multihead", attention_width=8, n_heads=8)


def test_attention_relation_encoder_shapes_and_empty_local_context():
    torch.manual_seed(0)
    tokens = torch.randn(8, 16)
    table = RangeMaxTable(tokens, 8)
    spans = torch.tensor([[0, 2], [2, 3], [5, 8]])
    sents = torch.tensor([[0, 8]] * 3)
    span_reps = torch.randn(3, 10)
    enc = attention_relation_encoder("additive", reduce_width=6, attention_width=8)(16, 10, 1)
    out = enc(table, span_reps, spans, torch.tensor([[0, 1], [1, 0], [0, 2]]), sents)
    assert out.shape == (3, enc.output_width) and enc.output_width == 12 + 6 + 6
    # pairs 0 and 1 are adjacent spans: the local attention sees nothing (zeros in)
    zero_local = enc.local_reduce(torch.zeros(1, 16))
    assert torch.allclose(out[0, 12:18], zero_local[0]) and torch.allclose(out[1, 12:18], zero_local[0])
    only_local = attention_relation_encoder("dot", reduce_width=6, attention_width=8, sentence=False)(16, 10, 1)
    assert only_local(table, span_reps, spans, torch.tensor([[0, 2]]), sents).shape == (1, 18)


@pytest.mark.parametrize("variant", VARIANTS)
def test_loss_decreases_with_paper_001_model(nlp, variant):
    model = {
        "span_encoder": {"@architectures": "spacy_jere.AttentionSpanEncoder.v1", "sentence_attention": variant,
                         "attention_width": 32, "n_heads": 8},
        "relation_encoder": {"@architectures": "spacy_jere.AttentionRelationEncoder.v1", "attention": variant,
                             "reduce_width": 32, "attention_width": 32},
    }
    model["head"] = {"entity_loss_weight": 0.4, "relation_loss_weight": 0.6}
    nlp.add_pipe("span_relation", config={"model": model})
    losses = train(nlp, make_examples(nlp), n_iter=15)
    assert losses[-1] < 0.5 * losses[0]
    doc = nlp("Peter Brown killed Tom Green in Dallas .")
    assert len(doc.spans["entities"]) > 0


@pytest.mark.parametrize("variant", ["multihead", "dot", "general"])
def test_shared_range_path_equals_the_ragged_one(variant):
    """Many queries over few ranges take the padded per-range product: same outputs and
    gradients as the ragged path, empty and one-token ranges included."""
    torch.manual_seed(0)
    att = RangeAttention(6, 16, variant, attention_width=8, n_heads=8 if variant == "multihead" else 1).double()
    tokens = torch.randn(12, 16, dtype=torch.double, requires_grad=True)
    ranges = torch.tensor([[0, 5], [5, 6], [6, 6], [6, 12]])
    which = torch.tensor([3, 0, 0, 1, 2, 3, 3, 0, 2, 1, 3, 0, 0, 3, 1, 2])
    queries = torch.randn(len(which), 6, dtype=torch.double, requires_grad=True)
    starts, ends = ranges[which, 0], ranges[which, 1]
    assert len(torch.unique(ranges, dim=0)) * SHARED_RANGE_FACTOR <= len(which)  # the shared path
    shared = att(queries, tokens, starts, ends)
    ragged = att._ragged(queries, tokens, starts, ends)
    assert torch.allclose(shared, ragged, atol=1e-10)
    assert torch.all(shared[which == 2] == 0)  # empty range
    grads = torch.autograd.grad(shared.square().sum(), (queries, tokens))
    expected = torch.autograd.grad(ragged.square().sum(), (queries, tokens))
    for got, want in zip(grads, expected, strict=True):
        assert torch.isfinite(got).all() and torch.allclose(got, want, atol=1e-10)
