"""BIO tags for the token stack (STSN): encoding, the extended scheme for two-fold
overlaps (Ji et al. 4.1), its automatic choice, the error for deeper overlaps, decoding."""
import numpy
import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example

from spacy_jere.tagging import TagScheme, choose_scheme

from .conftest import make_examples

STACK = {"@architectures": "spacy_jere.LabelAttentionStack.v1", "n_layers": 1, "width": 16, "n_heads": 2,
         "label_width": 8}


def tags_of(scheme, n, spans, labels):
    ids, left_out = scheme.encode(n, numpy.array(spans, dtype="int64").reshape(-1, 2), labels)
    return [scheme.tags[i] for i in ids], left_out


def test_bio_vocabulary_and_encoding():
    scheme = TagScheme.build(["Loc", "Peop"], extended=False)
    assert scheme.tags == ["O", "B-Loc", "I-Loc", "B-Peop", "I-Peop"] and not scheme.extended
    tags, left_out = tags_of(scheme, 6, [(0, 2), (4, 5)], ["Peop", "Loc"])
    assert tags == ["B-Peop", "I-Peop", "O", "O", "B-Loc", "O"] and left_out == 0
    ids = [scheme.ids[tag] for tag in tags]
    assert scheme.decode(ids) == [(0, 2, "Peop"), (4, 5, "Loc")]


def test_extended_bio_tags_the_papers_figure_4():
    # [[Codeine]Drug intoxication]AE in the neonate .
    scheme = TagScheme.build(["AE", "DRUG"], extended=True)
    assert scheme.extended and "B-AE/B-DRUG" in scheme.tags and "B-AE/I-DRUG" not in scheme.tags
    assert len(scheme) == 1 + 2 * 2 + 3 * 2 * 2
    tags, left_out = tags_of(scheme, 6, [(0, 1), (0, 2)], ["DRUG", "AE"])
    # The preceding entity (same start: the longer) is tagged first.
    assert tags == ["B-AE/B-DRUG", "I-AE", "O", "O", "O", "O"] and left_out == 0
    assert scheme.decode([scheme.ids[t] for t in tags]) == [(0, 2, "AE"), (0, 1, "DRUG")]


@pytest.mark.parametrize("spans, labels", [
    ([(0, 3), (2, 5)], ["AE", "DRUG"]),  # crossing: the earlier start precedes
    ([(0, 5), (1, 3), (6, 7)], ["AE", "AE"] + ["DRUG"]),  # nested, one label
    ([(0, 2), (0, 2)], ["AE", "DRUG"]),  # one span, two types (the targets keep one)
    ([(1, 2), (1, 4), (4, 6)], ["DRUG", "AE", "AE"]),  # adjacent entities of one label
])
def test_extended_bio_round_trip(spans, labels):
    scheme = TagScheme.build(["AE", "DRUG"], extended=True)
    tags, left_out = tags_of(scheme, 8, spans, labels)
    assert left_out == 0
    decoded = scheme.decode([scheme.ids[t] for t in tags])
    assert sorted(decoded) == sorted((s, e, label) for (s, e), label in zip(spans, labels, strict=True))


def test_crossing_tags_spell_both_entities():
    scheme = TagScheme.build(["AE", "DRUG"], extended=True)
    tags, _ = tags_of(scheme, 6, [(0, 3), (2, 5)], ["AE", "DRUG"])
    assert tags == ["B-AE", "I-AE", "I-AE/B-DRUG", "I-DRUG", "I-DRUG", "O"]


def test_overlaps_deeper_than_the_scheme_are_left_out_and_counted():
    bio = TagScheme.build(["AE", "DRUG"], extended=False)
    tags, left_out = tags_of(bio, 6, [(0, 3), (2, 5)], ["AE", "DRUG"])
    assert tags == ["B-AE", "I-AE", "I-AE", "O", "O", "O"] and left_out == 1
    extended = TagScheme.build(["AE", "DRUG"], extended=True)
    tags, left_out = tags_of(extended, 4, [(0, 4), (0, 2), (1, 2)], ["AE", "DRUG", "DRUG"])
    assert left_out == 1 and tags[1] == "I-AE/I-DRUG"


def test_decoding_is_lenient_and_stops_at_sentences():
    scheme = TagScheme.build(["Loc"], extended=False)
    b, i = scheme.ids["B-Loc"], scheme.ids["I-Loc"]
    # An I without a B starts an entity; B after I starts a new one; a sentence start ends one.
    assert scheme.decode([0, i, i, b, i, 0]) == [(1, 3, "Loc"), (3, 5, "Loc")]
    assert scheme.decode([b, i, i], sentence_starts=[True, False, True]) == [(0, 2, "Loc"), (2, 3, "Loc")]
    assert scheme.decode([]) == [] and scheme.decode([0, 0]) == []


def _doc(vocab, words, entities):
    doc = Doc(vocab, words=words.split())
    doc.spans["entities"] = [Span(doc, s, e, label=label) for s, e, label in entities]
    return doc


def test_scheme_is_chosen_from_the_training_data():
    vocab = spacy.blank("en").vocab
    flat = [_doc(vocab, "a b c d", [(0, 1, "X"), (2, 4, "Y")])]
    assert not choose_scheme(["X", "Y"], flat, "entities").extended
    same_span = [_doc(vocab, "a b c d", [(0, 2, "X"), (0, 2, "Y")])]
    assert not choose_scheme(["X", "Y"], same_span, "entities").extended
    nested = flat + [_doc(vocab, "Codeine intoxication in the neonate", [(0, 2, "X"), (0, 1, "Y")])]
    assert choose_scheme(["X", "Y"], nested, "entities").extended


def test_three_fold_overlap_names_the_example_and_the_spans():
    vocab = spacy.blank("en").vocab
    docs = [_doc(vocab, "a b c", [(0, 1, "X")]),
            _doc(vocab, "the big red dog barks", [(0, 4, "X"), (1, 4, "Y"), (2, 3, "Y")])]
    with pytest.raises(ValueError) as err:
        choose_scheme(["X", "Y"], docs, "entities")
    message = str(err.value)
    assert "training example 1" in message and "token 2 ('red')" in message and "3 entities" in message
    for described in ("'the big red dog' X [0:4]", "'big red dog' Y [1:4]", "'red' Y [2:3]"):
        assert described in message


def _stack_pipeline():
    nlp = spacy.blank("en")
    nlp.add_pipe("span_relation", config={"model": {"token_stack": STACK}})
    return nlp


def test_initialize_chooses_extended_bio_for_overlapping_training_data():
    nlp = _stack_pipeline()
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    assert nlp.get_pipe("span_relation").tags == ("O", "B-Loc", "I-Loc", "B-Org", "I-Org", "B-Peop", "I-Peop")
    nlp = _stack_pipeline()
    gold = _doc(nlp.vocab, "Acme Corp of Boston hired Mary", [(0, 4, "Org"), (3, 4, "Loc"), (5, 6, "Peop")])
    overlapping = examples + [Example(Doc(nlp.vocab, words=[t.text for t in gold]), gold)]
    nlp.initialize(lambda: overlapping)
    pipe = nlp.get_pipe("span_relation")
    assert "I-Org/B-Loc" in pipe.tags and pipe.model.get_ref("net").get_dim("n_tags") == len(pipe.tags)


def test_initialize_refuses_a_three_fold_overlap():
    nlp = _stack_pipeline()
    gold = _doc(nlp.vocab, "Acme Corp of Boston", [(0, 4, "Org"), (2, 4, "Loc"), (3, 4, "Loc")])
    examples = make_examples(nlp) + [Example(Doc(nlp.vocab, words=[t.text for t in gold]), gold)]
    with pytest.raises(ValueError, match=r"training example 8: token 3 \('Boston'\)"):
        nlp.initialize(lambda: examples)
