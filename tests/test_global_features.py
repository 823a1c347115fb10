"""Ji et al. 2022's gated fusion (eq. 5) and global features (eq. 13) in the span and
relation encoders."""
import pytest
import torch

from spacy_jere.architectures import max_pool_span_encoder, spert_relation_encoder
from spacy_jere.layers.fusion import GatedFusion
from spacy_jere.layers.pooling import RangeMaxTable

from .conftest import make_examples, train


def test_gated_fusion_is_a_convex_combination():
    fusion = GatedFusion(4)
    same = torch.randn(3, 4)
    assert torch.allclose(fusion([same, same, same]), same, atol=1e-6)
    a, b = torch.zeros(2, 4), torch.ones(2, 4)
    out = fusion([a, b])
    assert ((out >= 0) & (out <= 1)).all()


def test_gated_span_encoder_shapes():
    enc = max_pool_span_encoder(width_embedding_size=25, fusion="gated")(token_width=6, max_span_width=3)
    reps, ctx = enc(RangeMaxTable(torch.randn(8, 6), 8), torch.tensor([[0, 2], [3, 4]]), torch.tensor([[0, 8], [0, 8]]))
    assert reps.shape == (2, 6) and ctx.shape == (2, 0) and enc.output_width == 6 and enc.context_width == 0


def test_fused_embeddings_take_their_init_scale():
    """std 1.0 is torch's own table (as before the option); 0.02 the same draw scaled
    (no extra random draws, so the rest of the net's init does not move)."""
    tables = {}
    for std in (1.0, 0.02):
        torch.manual_seed(0)
        span = max_pool_span_encoder(fusion="gated", fused_embedding_std=std)(token_width=8, max_span_width=3)
        relation = spert_relation_encoder(global_features=True, fusion="gated", fused_embedding_std=std)(
            token_width=8, span_width=8, n_entity_classes=3)
        tables[std] = span.width_embedding.weight.detach(), relation.features.weight.detach()
    assert 0.5 < tables[1.0][0].std() < 1.5  # torch's N(0, 1), untouched
    for plain, small in zip(tables[1.0], tables[0.02], strict=True):
        assert torch.allclose(small, plain * 0.02)
    concat = max_pool_span_encoder(fused_embedding_std=0.02)(token_width=8, max_span_width=3)
    assert concat.width_embedding.weight.std() > 0.5  # concat (SpERT) keeps torch's init
    with pytest.raises(ValueError, match="fused_embedding_std"):
        max_pool_span_encoder(fusion="gated", fused_embedding_std=0.0)


def test_global_features_depend_on_types_and_clipped_distance():
    torch.manual_seed(0)
    enc = spert_relation_encoder(global_features=True, feature_width=2)(token_width=4, span_width=5, n_entity_classes=3)
    table = RangeMaxTable(torch.randn(30, 4), 30)
    spans = torch.tensor([[0, 1], [2, 3], [25, 26]])
    reps = torch.randn(3, 5)
    pairs = torch.tensor([[0, 1], [0, 2], [1, 2]])
    out = enc(table, reps, spans, pairs, span_types=torch.tensor([1, 2, 2]))
    assert out.shape == (3, 5 + 5 + 4 + 2) and enc.output_width == 16
    E = enc.features.weight
    # pair 0: types (1, 2), distance 1; pair 1: (1, 2), distance 24 -> clipped to 10
    assert torch.equal(out[0, -2:], E[(1 * 3 + 2) * 11 + 1])
    assert torch.equal(out[1, -2:], E[(1 * 3 + 2) * 11 + 10])
    other = enc(table, reps, spans, pairs, span_types=torch.tensor([2, 2, 2]))
    assert not torch.equal(other[0, -2:], out[0, -2:])
    with pytest.raises(ValueError, match="entity types"):
        enc(table, reps, spans, pairs)


def test_gated_relation_fusion_needs_token_width_spans():
    with pytest.raises(ValueError, match="span encoder with fusion"):
        spert_relation_encoder(fusion="gated")(token_width=4, span_width=9, n_entity_classes=1)
    enc = spert_relation_encoder(global_features=True, fusion="gated")(token_width=4, span_width=4, n_entity_classes=2)
    out = enc(RangeMaxTable(torch.randn(6, 4), 6), torch.randn(2, 4), torch.tensor([[0, 1], [3, 4]]),
              torch.tensor([[0, 1]]), span_types=torch.tensor([1, 1]))
    assert out.shape == (1, 4)


@pytest.mark.parametrize("fusion", ["concat", "gated"])
def test_loss_decreases_with_paper_004_parts(nlp, fusion):
    model = {
        "span_encoder": {"@architectures": "spacy_jere.MaxPoolSpanEncoder.v1", "fusion": fusion},
        "relation_encoder": {
            "@architectures": "spacy_jere.SpERTRelationEncoder.v1", "global_features": True, "fusion": fusion
        },
    }
    nlp.add_pipe("span_relation", config={"model": model})
    losses = train(nlp, make_examples(nlp), n_iter=15)
    assert losses[-1] < 0.5 * losses[0]
    doc = nlp("Peter Brown killed Tom Green in Dallas .")  # inference uses predicted types
    assert len(doc.spans["entities"]) > 0


def test_bad_fusion_name(nlp):
    span_encoder = {"@architectures": "spacy_jere.MaxPoolSpanEncoder.v1", "fusion": "sum"}
    with pytest.raises(ValueError, match="fusion must be one of concat, gated"):
        nlp.add_pipe("span_relation", config={"model": {"span_encoder": span_encoder}})


@pytest.mark.parametrize("global_features", [False, True])
def test_gated_relation_fusion_keeps_direction_with_role_projections(global_features):
    torch.manual_seed(0)
    table = RangeMaxTable(torch.randn(6, 4), 6)
    reps, spans = torch.randn(2, 4), torch.tensor([[0, 1], [3, 4]])
    both_ways, types = torch.tensor([[0, 1], [1, 0]]), torch.tensor([1, 1])
    literal = spert_relation_encoder(global_features=global_features, fusion="gated", role_projections=False)(
        token_width=4, span_width=4, n_entity_classes=2)
    out = literal(table, reps, spans, both_ways, span_types=types)
    # eq. 5 as written: (a, b) and (b, a) fuse to the same vector
    assert torch.allclose(out[0], out[1], atol=1e-6)
    projected = spert_relation_encoder(global_features=global_features, fusion="gated")(
        token_width=4, span_width=4, n_entity_classes=2)
    out = projected(table, reps, spans, both_ways, span_types=types)
    assert out.shape == (2, 4) and not torch.allclose(out[0], out[1], atol=1e-3)
