import pytest
from spacy.training import Example

from spacy_jere.scoring import make_span_relation_scorer, score_span_relations

from .conftest import make_doc

WORDS = "John Smith works for Acme Corp in Boston ."


def example(nlp, pred_ents, pred_rels, gold_ents, gold_rels):
    return Example(make_doc(nlp.vocab, WORDS, pred_ents, pred_rels), make_doc(nlp.vocab, WORDS, gold_ents, gold_rels))


GOLD_ENTS = [(0, 2, "Peop"), (4, 6, "Org"), (7, 8, "Loc")]
GOLD_RELS = [(0, 1, "Work_For"), (1, 2, "OrgBased_In")]


def test_perfect_prediction(nlp):
    scores = score_span_relations([example(nlp, GOLD_ENTS, GOLD_RELS, GOLD_ENTS, GOLD_RELS)])
    for prefix in ("ent", "rel", "rel_strict"):
        assert scores[f"{prefix}_p"] == scores[f"{prefix}_r"] == scores[f"{prefix}_f"] == 1.0


def test_hand_checked_counts(nlp):
    # Predicted: Peop right; "Acme Corp" typed Loc (wrong type); "Boston" right; an
    # extra "works" entity. Relations: Work_For between the right boundaries (so "rel"
    # counts it, "rel_strict" does not, as the tail's type is wrong); a wrong Kill.
    pred_ents = [(0, 2, "Peop"), (4, 6, "Loc"), (7, 8, "Loc"), (2, 3, "Other")]
    pred_rels = [(0, 1, "Work_For"), (0, 3, "Kill")]
    scores = score_span_relations([example(nlp, pred_ents, pred_rels, GOLD_ENTS, GOLD_RELS)])
    # entities: tp 2, fp 2, fn 1 -> P 0.5, R 2/3, F 4/7
    assert scores["ent_p"] == pytest.approx(0.5)
    assert scores["ent_r"] == pytest.approx(2 / 3)
    assert scores["ent_f"] == pytest.approx(4 / 7)
    # rel: tp 1, fp 1, fn 1 -> 0.5 / 0.5 / 0.5
    assert (scores["rel_p"], scores["rel_r"], scores["rel_f"]) == pytest.approx((0.5, 0.5, 0.5))
    # rel_strict: tp 0
    assert scores["rel_strict_f"] == 0.0
    # per type and macro: Peop F 1, Loc P 0.5 R 1 F 2/3, Org F 0, Other F 0
    per_type = scores["ent_per_type"]
    assert per_type["Loc"]["p"] == pytest.approx(0.5) and per_type["Loc"]["r"] == 1.0
    assert per_type["Org"]["f"] == 0.0 and per_type["Org"]["support"] == 1
    assert scores["ent_macro_f"] == pytest.approx((1 + 2 / 3 + 0 + 0) / 4)
    assert scores["rel_per_type"]["Work_For"]["f"] == 1.0
    assert scores["rel_per_type"]["Kill"]["p"] == 0.0


def test_label_unseen_in_training_counts_as_error(nlp):
    gold_ents = GOLD_ENTS + [(2, 3, "Event")]
    scores = score_span_relations([example(nlp, GOLD_ENTS, GOLD_RELS, gold_ents, GOLD_RELS)])
    assert scores["ent_r"] == pytest.approx(3 / 4)
    assert scores["ent_per_type"]["Event"]["r"] == 0.0


def test_empty_prediction_and_empty_gold(nlp):
    scores = score_span_relations([example(nlp, [], [], [], [])])
    assert scores["ent_f"] == 0.0 and scores["rel_strict_macro_f"] == 0.0
    scores = score_span_relations([example(nlp, GOLD_ENTS, GOLD_RELS, [], [])])
    assert scores["ent_p"] == 0.0 and scores["rel_p"] == 0.0


def test_compares_by_characters_across_tokenizations(nlp):
    gold = make_doc(nlp.vocab, WORDS, GOLD_ENTS, GOLD_RELS)
    # Predicted doc tokenized differently ("Acme Corp" -> one token) but same text.
    words = ["John", "Smith", "works", "for", "Acme Corp", "in", "Boston", "."]
    pred = make_doc(nlp.vocab, words, [(0, 2, "Peop"), (4, 5, "Org"), (6, 7, "Loc")],
                    [(0, 1, "Work_For"), (1, 2, "OrgBased_In")])
    assert pred.text == gold.text
    scores = score_span_relations([Example(pred, gold)])
    assert scores["ent_f"] == 1.0 and scores["rel_strict_f"] == 1.0


def test_symmetric_relations_ignore_argument_order(nlp):
    ents = [(0, 2, "Peop"), (4, 6, "Org")]
    eg = example(nlp, ents, [(1, 0, "Conjunction")], ents, [(0, 1, "Conjunction")])
    assert score_span_relations([eg])["rel_f"] == 0.0
    scorer = make_span_relation_scorer(symmetric_relations=["Conjunction"])
    assert scorer([eg])["rel_f"] == 1.0 and scorer([eg])["rel_strict_f"] == 1.0
