"""Torch modules of the span/relation model (no spaCy or thinc in here)."""
import os

import torch


def _one_thread_after_fork() -> None:
    # A forked child (nlp.pipe(n_process=N) forks on Linux) inherits torch's OpenMP
    # pool in a broken state and deadlocks in the first parallel op; with one thread
    # torch runs ops inline. The workers already run in parallel with each other.
    torch.set_num_threads(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_one_thread_after_fork)
