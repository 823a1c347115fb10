"""Heads: a head owns its classifiers, its entity decision, its loss and its decoding.
See ``base`` for the interface; ``spert`` and ``two_phase`` are the two built so far."""
from .base import Head, HeadLoss, HeadModule
from .spert import SpERTHead
from .two_phase import TwoPhaseHead

__all__ = ["Head", "HeadLoss", "HeadModule", "SpERTHead", "TwoPhaseHead"]
