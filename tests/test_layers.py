import pytest
import torch

from spacy_jere.architectures import linear_classifier, max_pool_span_encoder, mlp_classifier, spert_relation_encoder
from spacy_jere.heads import spert_head, two_phase_head
from spacy_jere.layers.net import build_net
from spacy_jere.layers.pairing import candidate_pairs, suppress_overlaps
from spacy_jere.layers.pooling import RangeMaxTable


def make_net(two_phase=False, entity_overlap="allow", max_pairs=1000):
    make_head = two_phase_head if two_phase else spert_head
    head = make_head(linear_classifier(), linear_classifier(), entity_overlap=entity_overlap, max_pairs=max_pairs)
    return build_net(max_pool_span_encoder(), spert_relation_encoder(), head, token_width=8, n_entity_classes=3,
                     n_relation_labels=2, max_span_width=4)


def test_range_max_matches_brute_force():
    torch.manual_seed(0)
    tokens = torch.randn(37, 5)
    starts = torch.randint(0, 37, (200,))
    lengths = torch.randint(1, 20, (200,))
    ends = torch.minimum(starts + lengths, torch.tensor(37))
    pooled = RangeMaxTable(tokens, max_range=20).query(starts, ends)
    expected = torch.stack([tokens[s:e].max(0).values for s, e in zip(starts.tolist(), ends.tolist(), strict=True)])
    assert torch.equal(pooled, expected)


def test_range_max_empty_ranges_are_zero_and_gradients_flow():
    tokens = torch.randn(6, 3, requires_grad=True)
    table = RangeMaxTable(tokens, max_range=6)
    out = table.query(torch.tensor([2, 4, 0]), torch.tensor([2, 3, 6]))
    assert torch.equal(out[0], torch.zeros(3)) and torch.equal(out[1], torch.zeros(3))
    out.sum().backward()
    assert tokens.grad.sum().item() == 3.0  # one max per feature of the one full range


def test_range_max_single_token_and_empty_table():
    tokens = torch.randn(1, 4)
    assert torch.equal(RangeMaxTable(tokens, 1).query(torch.tensor([0]), torch.tensor([1])), tokens)
    none = torch.zeros(0, dtype=torch.long)
    empty = RangeMaxTable(torch.zeros(0, 4), 1).query(none, none)
    assert empty.shape == (0, 4)


def test_relation_context_is_between_the_spans_either_order():
    tokens = torch.arange(10, dtype=torch.float32).unsqueeze(1)  # value = position
    table = RangeMaxTable(tokens, 10)
    spans = torch.tensor([[0, 2], [5, 6], [6, 8]])
    reps = torch.zeros(3, 2)
    enc = spert_relation_encoder()(token_width=1, span_width=2, n_entity_classes=1)
    out = enc(table, reps, spans, torch.tensor([[0, 1], [1, 0], [1, 2]]))
    assert out.shape == (3, 5)
    assert out[:, -1].tolist() == [4.0, 4.0, 0.0]  # max of tokens 2..4; adjacent -> 0


def test_span_encoder_shapes_and_wide_gold_spans():
    enc = max_pool_span_encoder(width_embedding_size=5)(token_width=4, max_span_width=3)
    table = RangeMaxTable(torch.randn(12, 4), 12)
    spans = torch.tensor([[0, 1], [2, 10]])  # the second is wider than max_span_width
    reps, ctx = enc(table, spans, torch.tensor([[0, 12], [0, 12]]))
    assert reps.shape == (2, 9) and ctx.shape == (2, 4)


def test_classifiers_shapes():
    x = torch.randn(7, 10)
    assert linear_classifier()(10, 3)(x).shape == (7, 3)
    assert mlp_classifier(hidden_width=8)(10, 3)(x).shape == (7, 3)


def _logits(labels):
    """(is_entity, confidence) as the net derives them from span logits."""
    out = torch.full((len(labels), 3), -5.0)
    out[torch.arange(len(labels)), torch.tensor(labels)] = 5.0
    confidence, predicted = out.softmax(-1).max(-1)
    return predicted > 0, confidence


def test_candidate_pairs_within_sentence_and_disjoint():
    spans = torch.tensor([[0, 1], [0, 2], [3, 4], [5, 6], [7, 8]])
    labels = [1, 2, 1, 0, 1]  # span 3 is not an entity
    sent_ids = torch.tensor([0, 0, 0, 0, 1])
    docs = torch.zeros(5, dtype=torch.long)
    pairs, dropped = candidate_pairs(*_logits(labels), spans, docs, sent_ids, max_pairs=0)
    got = sorted(map(tuple, pairs.tolist()))
    # 0 and 1 overlap; 4 is alone in its sentence; 3 is no entity
    assert got == [(0, 2), (1, 2), (2, 0), (2, 1)]
    assert int(dropped) == 0


def test_candidate_pairs_max_pairs_counts_what_it_drops():
    spans = torch.tensor([[i, i + 1] for i in range(5)])
    docs = torch.tensor([0, 0, 0, 1, 1])
    sent_ids = torch.tensor([0, 0, 0, 1, 1])
    pairs, dropped = candidate_pairs(*_logits([1] * 5), spans, docs, sent_ids, max_pairs=2)
    assert len(pairs) == 4 and int(dropped) == 4  # doc 0: 6 pairs -> 2; doc 1: 2 pairs
    assert (docs[pairs[:, 0]] == torch.tensor([0, 0, 1, 1])).all()


def test_candidate_pairs_none_with_fewer_than_two_entities():
    zeros = torch.zeros(2, dtype=torch.long)
    pairs, _ = candidate_pairs(*_logits([1, 0]), torch.tensor([[0, 1], [1, 2]]), zeros, zeros, 0)
    assert pairs.shape == (0, 2)


def test_net_forward_training_and_inference():
    net = make_net()
    tokens = torch.randn(6, 8)
    spans = torch.tensor([[0, 1], [2, 4], [4, 6]])
    sents = torch.tensor([[0, 6]] * 3)
    zeros = torch.zeros(3, dtype=torch.long)
    out = net(tokens, spans, sents, zeros, zeros, pairs=torch.tensor([[0, 1], [2, 0]]),
              span_types=torch.tensor([1, 2, 0]))
    assert out["span_logits"].shape == (3, 3) and out["relation_logits"].shape == (2, 2)
    net.eval()
    out = net(tokens, spans, sents, zeros, zeros)
    assert out["relation_logits"].shape == (len(out["pairs"]), 2)
    assert out["entity_labels"].shape == out["entity_scores"].shape == (3,)


def test_suppress_overlaps_keeps_the_most_confident_of_overlapping_entities():
    spans = torch.tensor([[0, 2], [1, 3], [2, 4], [5, 6], [5, 7], [8, 9]])
    is_entity = torch.tensor([True, True, True, True, True, False])
    confidence = torch.tensor([0.6, 0.9, 0.7, 0.5, 0.8, 0.99])
    kept = suppress_overlaps(spans, is_entity, confidence)
    # [1, 3] beats both [0, 2] and [2, 4]; [5, 7] beats [5, 6]; [8, 9] was no entity
    assert kept.tolist() == [False, True, False, False, True, False]
    # a chain: [0, 2] (0.9) drops [1, 3] (0.8), so [2, 4] (0.7) survives beside it
    chain = suppress_overlaps(torch.tensor([[0, 2], [1, 3], [2, 4]]), torch.ones(3, dtype=torch.bool),
                              torch.tensor([0.9, 0.8, 0.7]))
    assert chain.tolist() == [True, False, True]
    one = suppress_overlaps(spans[:1], is_entity[:1], confidence[:1])
    assert one.tolist() == [True]


@pytest.mark.parametrize("two_phase", [False, True])
def test_net_flat_entities_pairs_only_kept_entities(two_phase):
    torch.manual_seed(0)
    net = make_net(two_phase=two_phase)
    net.eval()
    with torch.no_grad():  # every span an entity: bias for class 1 (phase one: "entity")
        bias = net.head.span_classifier.layers[1].bias
        bias.copy_(torch.tensor([50.0]) if two_phase else torch.tensor([-50.0, 50.0, 0.0]))
    tokens = torch.randn(8, 8)
    spans = torch.tensor([[0, 1], [0, 2], [1, 3], [3, 4], [5, 7], [6, 8]])
    sents = torch.tensor([[0, 8]] * 6)
    zeros = torch.zeros(6, dtype=torch.long)
    allowed = net(tokens, spans, sents, zeros, zeros)
    assert (allowed["entity_labels"] > 0).all()
    net.head.settings.entity_overlap = "flat"  # a decoding setting, read at call time
    flat = net(tokens, spans, sents, zeros, zeros)
    kept = flat["entity_labels"] > 0
    kept_spans = spans[kept]
    assert 0 < kept.sum() < len(spans)
    for i in range(len(kept_spans)):
        for j in range(i + 1, len(kept_spans)):
            assert kept_spans[i, 1] <= kept_spans[j, 0] or kept_spans[j, 1] <= kept_spans[i, 0]
    assert kept[flat["pairs"].flatten()].all() and len(flat["pairs"]) < len(allowed["pairs"])


def test_relation_encoder_without_the_span_width_embedding():
    """PERA eq. 4: the pair reads head and tail without their width embedding, so the
    width embedding's weights cannot change it."""
    torch.manual_seed(0)
    spans_enc = max_pool_span_encoder(width_embedding_size=5)(token_width=4, max_span_width=3)
    with_width = spert_relation_encoder()(token_width=4, span_width=9, n_entity_classes=2, span_width_columns=5)
    without = spert_relation_encoder(span_width_embedding=False)(
        token_width=4, span_width=9, n_entity_classes=2, span_width_columns=5)
    assert with_width.output_width == 2 * 9 + 4 and without.output_width == 2 * 4 + 4
    table = RangeMaxTable(torch.randn(6, 4), max_range=6)
    spans = torch.tensor([[0, 2], [3, 4], [4, 6]])
    pairs = torch.tensor([[0, 1], [2, 0]])
    sentences = torch.tensor([[0, 6]] * 3)
    reps, _ = spans_enc(table, spans, sentences)
    before = without(table, reps, spans, pairs, sentences)
    with torch.no_grad():
        spans_enc.width_embedding.weight.add_(1.0)
    reps_changed, _ = spans_enc(table, spans, sentences)
    assert torch.equal(without(table, reps_changed, spans, pairs, sentences), before)
    assert not torch.equal(with_width(table, reps_changed, spans, pairs, sentences),
                           with_width(table, reps, spans, pairs, sentences))
    with pytest.raises(ValueError, match="span_width_embedding = false needs fusion"):
        spert_relation_encoder(fusion="gated", span_width_embedding=False)
