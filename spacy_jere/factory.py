"""The ``span_relation`` factory: the component's config, its defaults (written here
once) and the function spaCy calls to build it (entry point ``spacy_factories``)."""
from typing import Callable, Iterable, List, Optional

import numpy
from spacy import util
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import Model

from .pipe import SpanRelationExtractor

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_jere.SpanRelationModel.v1"

[model.tok2vec]
@architectures = "spacy.HashEmbedCNN.v2"
pretrained_vectors = null
width = 96
depth = 4
embed_size = 2000
window_size = 1
maxout_pieces = 3
subword_features = true

[model.span_encoder]
@architectures = "spacy_jere.MaxPoolSpanEncoder.v1"

[model.relation_encoder]
@architectures = "spacy_jere.SpERTRelationEncoder.v1"

[model.head]
@architectures = "spacy_jere.SpERTHead.v1"

[model.head.span_classifier]
@architectures = "spacy_jere.LinearClassifier.v1"

[model.head.relation_classifier]
@architectures = "spacy_jere.LinearClassifier.v1"
"""
DEFAULT_MODEL = util.load_config_from_str(DEFAULT_MODEL_CONFIG)["model"]
@Language.factory(
    "span_relation",
    assigns=["doc.spans", "doc._.relations"],
    default_config={
        "model": DEFAULT_MODEL,
        "suggester": {"@misc": "spacy_jere.sentence_ngram_suggester.v1", "max_width": 10},
        "spans_key": "entities",
        "neg_entity_count": 100,
        "neg_relation_count": 100,
        "neg_per_gold": 0,
        "entities_from": None,
        "write_ents": False,
        "scorer": {"@scorers": "spacy_jere.span_relation_scorer.v1"},
    },
    default_score_weights={
        "ent_f": 0.5, "rel_f": 0.0, "rel_strict_f": 0.5,
        "ent_p": None, "ent_r": None, "rel_strict_p": None, "rel_strict_r": None,
    },
)
def make_span_relation(
    nlp: Language, name: str, model: Model, suggester: Callable[[Iterable[Doc]], List[numpy.ndarray]],
    spans_key: str, neg_entity_count: int, neg_relation_count: int, neg_per_gold: int, entities_from: Optional[str],
    write_ents: bool, scorer: Optional[Callable],
) -> "SpanRelationExtractor":
    """Entities (nested and overlapping) into ``doc.spans[spans_key]``, typed and
    directed relations between them into ``doc._.relations``.

    suggester: the candidate spans of a doc (default: every span of 1..10 tokens inside
        a sentence); training samples its negative spans from them.
    neg_entity_count / neg_relation_count: negatives sampled per doc in training.
    neg_per_gold: if > 0, sample this many negatives per gold item instead (Ji et al.
        2020's dynamic sampling, k = 30 there).
    entities_from: take the entities from another component, "ents" (doc.ents) or a
        span group key, and classify only the pairs; training then learns relations
        between the gold entities (no entity loss) and the pipe writes no entities.
    write_ents: also write the entities to doc.ents (overlaps: the most confident win).
    The model's head (``[model.head]``) holds the decoding settings (relation_threshold,
    max_pairs, entity_overlap) and the loss weights.
    """
    return SpanRelationExtractor(
        nlp.vocab, model, name, suggester=suggester, spans_key=spans_key, neg_entity_count=neg_entity_count,
        neg_relation_count=neg_relation_count, neg_per_gold=neg_per_gold, entities_from=entities_from,
        write_ents=write_ents, scorer=scorer,
    )
