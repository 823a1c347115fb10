import pytest
import spacy
from spacy.tokens import Doc

from spacy_jere.sentence_limit import long_sentence_starts


def lengths(doc):
    return [len(s) for s in doc.sents]


@pytest.fixture
def nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("long_sentence_splitter", config={"max_length": 10})
    return nlp


def test_short_sentences_are_left_alone(nlp):
    doc = nlp("John Smith works for Acme Corp in Boston. Mary Jones lives in Paris.")
    assert lengths(doc) == [9, 6]


def test_text_without_punctuation_is_cut_into_pieces_of_at_most_max_length(nlp):
    doc = nlp(" ".join(f"word{i}" for i in range(35)))
    assert lengths(doc) == [10, 10, 10, 5]
    assert sum(lengths(doc)) == len(doc)  # every token in exactly one sentence


def test_cuts_prefer_punctuation_in_the_second_half(nlp):
    words = "a b c d e f g , h i j k l m n o".split()
    doc = nlp(" ".join(words))
    assert [s.text.split()[-1] for s in doc.sents][0] == ","
    assert lengths(doc) == [8, 8]
    # punctuation in the first half is not used: the piece would be too short
    doc = nlp("a , b c d e f g h i j k l m")
    assert lengths(doc) == [10, 4]


def test_doc_without_sentence_boundaries_is_one_sentence_to_cut():
    doc = Doc(spacy.blank("en").vocab, words=[f"w{i}" for i in range(25)])
    assert long_sentence_starts(doc, 10) == [10, 20]


def test_parsed_doc_is_not_changed_and_warns():
    nlp = spacy.blank("en")
    splitter = nlp.add_pipe("long_sentence_splitter", config={"max_length": 5})
    words = [f"w{i}" for i in range(8)]
    doc = Doc(nlp.vocab, words=words, heads=[0] * 8, deps=["dep"] * 8)
    with pytest.warns(UserWarning, match="dependency parse"):
        splitter(doc)
    assert lengths(doc) == [8]


def test_max_length_is_validated():
    with pytest.raises(ValueError, match="max_length"):
        spacy.blank("en").add_pipe("long_sentence_splitter", config={"max_length": 1})
