"""Every refinement on batches holding docs with one entity (no pair to classify) and
with none: training and prediction work, the loss is finite and falls."""
import math

import pytest

from .conftest import TRAIN_DATA, head_config, make_examples, train

PARTS = {
    "span_attention": {
        "span_encoder": {"@architectures": "spacy_jere.AttentionSpanEncoder.v1", "sentence_attention": "dot"}
    },
    "relation_attention": {
        "relation_encoder": {"@architectures": "spacy_jere.AttentionRelationEncoder.v1", "attention": "general"}
    },
    "mlp": {"head": {"span_classifier": {"@architectures": "spacy_jere.MLPClassifier.v1"},
                     "relation_classifier": {"@architectures": "spacy_jere.MLPClassifier.v1"}}},
    "two_phase": {"head": head_config("spacy_jere.TwoPhaseHead.v1")},
    "gated_global": {
        "span_encoder": {"@architectures": "spacy_jere.MaxPoolSpanEncoder.v1", "fusion": "gated"},
        "relation_encoder": {
            "@architectures": "spacy_jere.SpERTRelationEncoder.v1", "global_features": True, "fusion": "gated"
        },
    },
    "two_phase_gate": {
        "head": head_config("spacy_jere.TwoPhaseHead.v1", phase_two_features="gate"),
        "relation_encoder": {"@architectures": "spacy_jere.SpERTRelationEncoder.v1", "global_features": True},
    },
}

ONE_ENTITY_DATA = [
    ("Boston is cold .", [(0, 1, "Loc")], []),
    ("Nothing to see here .", [], []),
]


@pytest.mark.parametrize("part", sorted(PARTS))
def test_docs_with_one_or_no_entity(nlp, part):
    nlp.add_pipe("span_relation", config={"model": PARTS[part], "neg_per_gold": 3 if part == "mlp" else 0})
    examples = make_examples(nlp, TRAIN_DATA[:3] + ONE_ENTITY_DATA)
    losses = train(nlp, examples, n_iter=15)
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0]
    only_edge_cases = make_examples(nlp, ONE_ENTITY_DATA)
    step = {}
    nlp.update(only_edge_cases, losses=step)  # a batch with no pair at all
    assert math.isfinite(step["span_relation"])
    docs = list(nlp.pipe(["Boston is cold .", "Nothing to see here ."]))
    assert all(len(doc._.relations) == 0 for doc in docs)
