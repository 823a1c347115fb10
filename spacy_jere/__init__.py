"""spacy-jere: joint entity and relation extraction for spaCy (SpERT family)."""
from .relations import Relation, register_extension
from .tagging import register_tag_extensions

register_extension()
register_tag_extensions()

# Imported for their registrations (architectures, span getters, factories, ...).
from . import (  # noqa: E402, F401
    architectures,
    entity_sources,
    optimizers,
    schedules,
    scoring,
    sentence_limit,
    suggesters,
    transformer_name,
    windows,
)
from .factory import make_span_relation  # noqa: E402
from .pipe import SpanRelationExtractor  # noqa: E402

__all__ = ["Relation", "SpanRelationExtractor", "make_span_relation"]
__version__ = "0.2.0"
