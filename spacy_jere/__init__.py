"""spacy-jere: joint entity and relation extraction for spaCy (SpERT family)."""
from .relations import Relation, register_extension

register_extension()

from . import architectures, optimizers, schedules, scoring, suggesters, transformer_name  # noqa: E402, F401  (registrations)
from .pipe import SpanRelationExtractor, make_span_relation  # noqa: E402

__all__ = ["Relation", "SpanRelationExtractor", "make_span_relation"]
__version__ = "0.2.0"
