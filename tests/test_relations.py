import pytest
from spacy.tokens import Doc, DocBin, Span

from spacy_jere import Relation

from .conftest import make_doc


def sample(nlp):
    return make_doc(nlp.vocab, "John Smith works for Acme Corp .", [(0, 2, "Peop"), (4, 6, "Org")],
                    [(0, 1, "Work_For")])


def as_tuples(doc):
    return [r.as_tuple() for r in doc._.relations]


def test_relations_survive_docbin_and_to_bytes(nlp):
    doc = sample(nlp)
    expected = [(0, 2, "Peop", 4, 6, "Org", "Work_For", 1.0)]
    assert as_tuples(doc) == expected
    restored = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert as_tuples(restored) == expected
    doc_bin = DocBin(store_user_data=True, docs=[doc])
    (loaded,) = DocBin().from_bytes(doc_bin.to_bytes()).get_docs(nlp.vocab)
    assert as_tuples(loaded) == expected
    assert [(s.text, s.label_) for s in loaded.spans["entities"]] == [("John Smith", "Peop"), ("Acme Corp", "Org")]


def test_relations_are_spans_of_the_doc(nlp):
    rel = sample(nlp)._.relations[0]
    assert isinstance(rel.head, Span) and rel.head.text == "John Smith" and rel.tail.label_ == "Org"


def test_setting_bad_relations_names_the_problem(nlp):
    doc = sample(nlp)
    with pytest.raises(TypeError, match=r"doc._.relations\[0\] is a tuple"):
        doc._.relations = [(0, 1, "x")]
    other = sample(nlp)
    with pytest.raises(ValueError, match=r"doc._.relations\[0\].head .* belongs to another Doc"):
        doc._.relations = [Relation(other.spans["entities"][0], doc.spans["entities"][1], "Work_For")]


def test_no_relations_is_an_empty_tuple(nlp):
    assert nlp("hello world")._.relations == ()
