"""Torch modules of the span/relation model (no spaCy or thinc in here)."""
