"""Benchmarks and experiments of spacy-jere: `python -m spacy_jere.experiments --help`.

The modules import torch and spaCy inside their functions, so importing one (as the
tests do) stays cheap.
"""
