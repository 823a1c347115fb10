"""Corpus formats in and out of spaCy Docs.

In: SpERT JSON (``spacy_jere.convert``), BRAT standoff (``brat``), DyGIE++ JSONL
(``dygiepp``), Prodigy ``rel`` JSONL (``prodigy``); ``detect`` picks one, ``read`` runs it.
Out: SpERT JSON (``spert_out``), DyGIE++ JSONL (``dygiepp_out``), BRAT (``brat_out``);
``export`` writes Docs or a pipeline's predictions.

This module imports nothing on purpose: ``spacy_jere.convert`` imports ``formats.errors``
and ``formats.read`` imports ``spacy_jere.convert``.
"""

INPUT_FORMATS = ("spert", "brat", "dygiepp", "prodigy")
OUTPUT_FORMATS = ("spert", "dygiepp", "brat")
