"""Heads: a head owns its classifiers, its entity decision, its loss and its decoding.
See ``base`` for the interface; ``spert`` and ``two_phase`` are the two built so far."""
from .base import Head, HeadDims, HeadLoss, HeadModule
from .spert import SpERTHead, spert_head
from .two_phase import TwoPhaseHead, two_phase_head

__all__ = ["Head", "HeadDims", "HeadLoss", "HeadModule", "SpERTHead", "TwoPhaseHead", "spert_head", "two_phase_head"]
