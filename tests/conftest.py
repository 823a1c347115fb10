import pytest
import spacy
from spacy.tokens import Doc, Span
from spacy.training import Example

from spacy_jere import Relation

# (words, entities as (start, end, label), relations as (head, tail, label))
TRAIN_DATA = [
    ("John Smith works for Acme Corp in Boston .", [(0, 2, "Peop"), (4, 6, "Org"), (7, 8, "Loc")],
     [(0, 1, "Work_For"), (1, 2, "OrgBased_In")]),
    ("Mary Jones lives in Paris .", [(0, 2, "Peop"), (4, 5, "Loc")], [(0, 1, "Live_In")]),
    ("Acme Corp hired Mary Jones last year .", [(0, 2, "Org"), (3, 5, "Peop")], [(1, 0, "Work_For")]),
    ("Paris is in France .", [(0, 1, "Loc"), (3, 4, "Loc")], [(0, 1, "Located_In")]),
    ("Peter Brown killed Tom Green in Dallas .", [(0, 2, "Peop"), (3, 5, "Peop"), (6, 7, "Loc")],
     [(0, 1, "Kill"), (1, 2, "Live_In")]),
    ("Globex is based in Springfield .", [(0, 1, "Org"), (4, 5, "Loc")], [(0, 1, "OrgBased_In")]),
    ("Anna Lee moved to Berlin in Germany .", [(0, 2, "Peop"), (4, 5, "Loc"), (6, 7, "Loc")],
     [(0, 1, "Live_In"), (1, 2, "Located_In")]),
    ("The University of Texas employs Bob Stone .", [(1, 4, "Org"), (5, 7, "Peop")], [(1, 0, "Work_For")]),
]


def make_doc(vocab, words, entities, relations, spans_key="entities"):
    doc = Doc(vocab, words=words.split() if isinstance(words, str) else words)
    spans = [Span(doc, s, e, label=label) for s, e, label in entities]
    doc.spans[spans_key] = spans
    doc._.relations = [Relation(spans[h], spans[t], label) for h, t, label in relations]
    return doc


def make_examples(nlp, data=TRAIN_DATA):
    examples = []
    for words, ents, rels in data:
        gold = make_doc(nlp.vocab, words, ents, rels)
        examples.append(Example(Doc(nlp.vocab, words=[t.text for t in gold]), gold))
    return examples


@pytest.fixture
def nlp():
    return spacy.blank("en")


@pytest.fixture
def examples(nlp):
    return make_examples(nlp)


def train(nlp, examples, n_iter=40, seed=0):
    spacy.util.fix_random_seed(seed)
    optimizer = nlp.initialize(lambda: examples)
    losses_seen = []
    for _ in range(n_iter):
        losses = {}
        nlp.update(examples, sgd=optimizer, losses=losses)
        losses_seen.append(losses["span_relation"])
    return losses_seen


LINEAR = {"@architectures": "spacy_jere.LinearClassifier.v1"}


def head_config(name="spacy_jere.SpERTHead.v1", **settings):
    """A ``[model.head]`` block: a head names its classifiers, so a config that swaps the
    head gives them too."""
    return {"@architectures": name, "span_classifier": dict(LINEAR), "relation_classifier": dict(LINEAR), **settings}
