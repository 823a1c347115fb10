import numpy
import spacy
from spacy.tokens import Doc

from spacy_jere.candidates import (
    DocTargets,
    inference_candidates,
    sample_rows,
    sentence_ids,
    training_candidates,
)
from spacy_jere.suggesters import SentenceNgramSuggester, enumerate_spans


def test_enumerate_spans_width_limit_and_order():
    spans = enumerate_spans(numpy.zeros(4, dtype="int64"), max_width=2)
    assert spans.tolist() == [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3], [2, 4], [3, 4]]


def test_enumerate_spans_never_cross_sentences():
    ids = numpy.array([0, 0, 0, 1, 1])
    spans = enumerate_spans(ids, max_width=10)
    assert len(spans) == 6 + 3  # 3-token sentence: 6 spans; 2-token sentence: 3
    for start, end in spans:
        assert ids[start] == ids[end - 1]


def test_enumerate_spans_empty_doc():
    assert enumerate_spans(numpy.zeros(0, dtype="int64"), 10).shape == (0, 2)


def test_sentence_ids_follow_doc_sentences():
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words="a b . c d".split(), sent_starts=[True, False, False, True, False])
    assert sentence_ids(doc).tolist() == [0, 0, 0, 1, 1]
    unsegmented = Doc(nlp.vocab, words="a b . c d".split())
    assert sentence_ids(unsegmented).tolist() == [0, 0, 0, 0, 0]


def test_sample_rows_is_seeded_and_without_replacement():
    rows = numpy.arange(200).reshape(100, 2)
    a = sample_rows(numpy.random.default_rng(1), rows, 10)
    b = sample_rows(numpy.random.default_rng(1), rows, 10)
    c = sample_rows(numpy.random.default_rng(2), rows, 10)
    assert (a == b).all()
    assert not (a == c).all()
    assert len({tuple(r) for r in a.tolist()}) == 10
    assert len(sample_rows(numpy.random.default_rng(1), rows[:3], 10)) == 3


def _targets(spans, labels, pairs, pair_labels):
    return DocTargets(
        spans=numpy.array(spans, dtype="int64").reshape(-1, 2),
        span_labels=numpy.array(labels, dtype="int64"),
        pairs=numpy.array(pairs, dtype="int64").reshape(-1, 2),
        pair_labels=numpy.array(pair_labels, dtype="float32").reshape(-1, 2),
    )


def test_training_candidates_gold_first_and_negatives_exclude_gold():
    nlp = spacy.blank("en")
    docs = [Doc(nlp.vocab, words="a b c d e".split()), Doc(nlp.vocab, words="f g h".split())]
    targets = [
        _targets([[0, 2], [3, 4], [4, 5]], [1, 2, 1], [[0, 1]], [[1, 0]]),
        _targets([[1, 2]], [2], [], []),
    ]
    batch = training_candidates(docs, SentenceNgramSuggester(3)(docs), targets, neg_entity_count=4,
                                neg_relation_count=100, rng=numpy.random.default_rng(0), n_relation_labels=2)
    # doc 0: 3 gold + 4 of its 9 other spans; doc 1: 1 gold + 4 of its 5 other spans
    assert batch.span_docs.tolist() == [0] * 7 + [1] * 5
    assert batch.spans[:3].tolist() == [[0, 2], [3, 4], [4, 5]]
    assert batch.span_targets[:3].tolist() == [1, 2, 1]
    assert (batch.span_targets[3:7] == 0).all()
    gold = {(0, 2), (3, 4), (4, 5)}
    assert not gold & {tuple(s) for s in batch.spans[3:7].tolist()}
    assert batch.spans[7].tolist() == [6, 7]  # doc 1 offset by 5 tokens
    # pairs: the gold pair first, then every other ordered pair of gold spans
    assert batch.pairs[0].tolist() == [0, 1]
    assert batch.pair_targets[0].tolist() == [1.0, 0.0]
    assert len(batch.pairs) == 6  # 3 * 2 ordered pairs
    assert (batch.pair_targets[1:] == 0).all()
    assert (batch.pairs[:, 0] != batch.pairs[:, 1]).all()


def test_negative_pairs_stay_within_a_sentence():
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words="a b . c d".split(), sent_starts=[True, False, False, True, False])
    targets = [_targets([[0, 1], [1, 2], [3, 4]], [1, 1, 1], [], [])]
    batch = training_candidates([doc], SentenceNgramSuggester(2)([doc]), targets, 0, 100,
                                numpy.random.default_rng(0), 2)
    assert sorted(batch.pairs.tolist()) == [[0, 1], [1, 0]]


def test_inference_candidates_carry_sentence_bounds():
    nlp = spacy.blank("en")
    docs = [Doc(nlp.vocab, words="a b . c".split(), sent_starts=[True, False, False, True]), Doc(nlp.vocab, words=[])]
    batch = inference_candidates(docs, SentenceNgramSuggester(10)(docs))
    assert batch.token_offsets.tolist() == [0, 4, 4]
    assert len(batch.spans) == 6 + 1
    last = batch.spans.tolist().index([3, 4])
    assert batch.span_sentences[last].tolist() == [3, 4]
    assert batch.span_sentence_ids[last] == 1
    assert batch.doc_spans(1) == (7, 7)


def test_dynamic_sampling_scales_with_gold_counts():
    nlp = spacy.blank("en")
    docs = [Doc(nlp.vocab, words=["w"] * 20), Doc(nlp.vocab, words=["w"] * 20)]
    targets = [
        _targets([[0, 1], [2, 3], [5, 6]], [1, 1, 1], [[0, 1]], [[1, 0]]),
        _targets([], [], [], []),
    ]
    batch = training_candidates(docs, SentenceNgramSuggester(3)(docs), targets, neg_entity_count=100,
                                neg_relation_count=100, rng=numpy.random.default_rng(0), n_relation_labels=2,
                                neg_per_gold=2)
    assert (batch.span_docs == 0).sum() == 3 + 2 * 3
    assert (batch.span_docs == 1).sum() == 2  # no gold: still neg_per_gold negatives
    assert len(batch.pairs) == 1 + 2  # one gold relation -> two negative pairs


def test_negative_pairs_follow_the_inference_pair_rule():
    """Overlapping gold entities (nested annotation) are never paired, in training as
    at inference: one pair rule."""
    nlp = spacy.blank("en")
    doc = Doc(nlp.vocab, words="a b c d".split())
    targets = [_targets([[0, 2], [1, 2], [3, 4]], [1, 1, 1], [], [])]
    batch = training_candidates([doc], SentenceNgramSuggester(2)([doc]), targets, 0, 100,
                                numpy.random.default_rng(0), 2)
    assert sorted(batch.pairs.tolist()) == [[0, 2], [1, 2], [2, 0], [2, 1]]


def test_suggester_rejects_a_bad_width():
    import pytest

    with pytest.raises(ValueError, match="max_width"):
        SentenceNgramSuggester(0)
