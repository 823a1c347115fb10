"""A learning-rate schedule whose length follows the training run, not a number of steps
written into the config.

spaCy's ``warmup_linear.v1`` takes ``total_steps``: a config tuned for one corpus and
batch size then decays too early or too late on another (on SciERC, twice CoNLL04's
size, the learning rate would reach 0 halfway through training). This schedule derives
the steps from the train corpus, the batch size and ``max_epochs``/``max_steps``, so
one config serves every corpus.
"""
import math
from pathlib import Path
from typing import Iterator, Optional, Union

import spacy
from spacy.training.corpus import Corpus, walk_corpus
from spacy.util import registry


def count_train_examples(
    train_corpus: Union[str, Path, None], max_length: int = 0, limit: int = 0, gold_preproc: bool = False
) -> int:
    """Examples an epoch of spacy.Corpus.v1 yields from a .spacy file or a directory of
    them with these settings: spaCy's own reader counts them, so empty docs (skipped),
    docs longer than max_length (split into sentences, or dropped without sentence
    boundaries), limit and gold_preproc count as they do in training. An augmenter is
    not applied (spaCy's yield one example per example)."""
    if train_corpus is None or str(train_corpus) in ("", "None"):
        raise ValueError(
            "spacy_jere.warmup_linear_epochs.v1: train_corpus is null; set [paths] train "
            "(or give the schedule total_steps)"
        )
    path = Path(train_corpus)
    if not path.exists():
        raise ValueError(f"spacy_jere.warmup_linear_epochs.v1: train_corpus {path} does not exist")
    if not walk_corpus(path, ".spacy"):
        raise ValueError(f"spacy_jere.warmup_linear_epochs.v1: no .spacy files in train_corpus {path}")
    corpus = Corpus(path, max_length=max_length, limit=limit, gold_preproc=gold_preproc)
    # Only the reference docs' lengths and sentences matter, so any tokenizer will do.
    return sum(1 for _ in corpus(spacy.blank("xx")))


def schedule_steps(train_examples: int, batch_size: int, max_epochs: int, max_steps: int, warmup_fraction: float):
    """(warmup_steps, total_steps) of a run: one update per batch of ``batch_size`` examples
    (spacy.batch_by_sequence.v1; spaCy steps schedules once per batch, whatever
    accumulate_gradient), stopping at whichever of max_epochs and max_steps comes first."""
    by_epochs = math.ceil(train_examples / batch_size) * max_epochs if max_epochs > 0 else None
    by_steps = max_steps if max_steps > 0 else None
    total = min(n for n in (by_epochs, by_steps) if n is not None)
    # At least one warm-up step when warm-up is asked for, so that step 0's rate (0)
    # does not depend on the corpus: see warmup_linear_epochs.
    warmup = max(1, math.floor(total * warmup_fraction + 1e-9)) if warmup_fraction > 0 else 0
    return warmup, total


def run_steps(
    train_corpus, batch_size: int, max_epochs: int, max_steps: int, warmup_fraction: float,
    total_steps: int = 0, max_length: int = 0, limit: int = 0, gold_preproc: bool = False,
):
    """(warmup_steps, total_steps) of warmup_linear_epochs.v1 with these settings: given
    by total_steps > 0, else counted from the train corpus as its reader yields it."""
    if total_steps > 0:
        return schedule_steps(total_steps, 1, 1, 0, warmup_fraction)
    train_examples = count_train_examples(train_corpus, max_length, limit, bool(gold_preproc))
    if train_examples == 0:
        raise ValueError(
            f"spacy_jere.warmup_linear_epochs.v1: train_corpus {train_corpus} holds no training examples "
            f"(empty docs are skipped; reader settings max_length {max_length}, limit {limit})"
        )
    return schedule_steps(train_examples, batch_size, max_epochs, max_steps, warmup_fraction)


@registry.schedules("spacy_jere.warmup_linear_epochs.v1")
def warmup_linear_epochs(
    initial_rate: float,
    train_corpus: Optional[Union[str, Path]] = None,
    batch_size: Optional[Union[int, str]] = None,
    max_epochs: Union[int, str] = 0,
    max_steps: Union[int, str] = 0,
    warmup_fraction: float = 0.1,
    total_steps: int = 0,
    max_length: Union[int, str] = 0,
    limit: Union[int, str] = 0,
    gold_preproc: Union[bool, str] = False,
) -> Iterator[float]:
    """``warmup_linear.v1`` (linear warm-up over ``warmup_fraction`` of the run, then linear
    decay to 0 at its end) over the run's own length: ceil(train examples / batch_size)
    steps an epoch for max_epochs epochs, capped by max_steps. The configs pass
    ${corpora.train.path}, ${training.batcher.size}, ${training.max_epochs},
    ${training.max_steps} and the train reader's max_length, limit and gold_preproc
    (which change how many examples an epoch has). ``total_steps`` > 0 gives the length
    instead (and the other settings are not needed): for a batcher that does not count
    docs (batch_by_words)."""
    name = "spacy_jere.warmup_linear_epochs.v1"
    if not 0.0 <= warmup_fraction < 1.0:
        raise ValueError(f"{name}: warmup_fraction must be in [0, 1), got {warmup_fraction}")
    settings = {"train_corpus": train_corpus, "batch_size": batch_size, "max_epochs": max_epochs,
                "max_steps": max_steps, "max_length": max_length, "limit": limit, "gold_preproc": gold_preproc}
    # nlp.create_optimizer() (called by nlp.initialize() and nlp.resume_training())
    # resolves [training.optimizer] on its own, so the ${...} references to the rest of
    # the config arrive as text. Building must work there; training without the run's
    # length cannot, which step 1 reports.
    unresolved = [key for key, value in settings.items() if isinstance(value, str) and value.startswith("${")]
    if total_steps <= 0:
        if unresolved:
            return _unresolved_run(name, initial_rate, warmup_fraction, unresolved, settings)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"{name}: batch_size must be a positive number of docs per batch, got {batch_size!r} "
                "(a batcher whose size is a schedule or counts words needs total_steps)"
            )
        for key in ("max_epochs", "max_steps", "max_length", "limit"):
            if not isinstance(settings[key], int) or isinstance(settings[key], bool):
                raise ValueError(f"{name}: {key} must be an integer, got {settings[key]!r}")
        if max_epochs <= 0 and max_steps <= 0:
            raise ValueError(
                f"{name}: the run has no end (max_epochs {max_epochs}, max_steps {max_steps}); "
                "set one of them or total_steps"
            )

    def rates() -> Iterator[float]:
        # The optimizer takes step 0's rate whenever [training] is resolved (spacy train
        # does it twice, debug config once); that rate is 0 (warm-up) or initial_rate
        # whatever the run's length, so the corpus is counted once, at step 1.
        yield 0.0 if warmup_fraction > 0 else initial_rate
        warmup, total = run_steps(
            train_corpus, batch_size, max_epochs, max_steps, warmup_fraction, total_steps, max_length, limit,
            gold_preproc,
        )
        for step in range(1, total + 1):
            if step < warmup:
                yield initial_rate * step / warmup
            else:
                yield initial_rate * max(0.0, (total - step) / max(1.0, total - warmup))
        while True:
            yield 0.0

    return rates()


def _unresolved_run(name, initial_rate, warmup_fraction, unresolved, settings) -> Iterator[float]:
    yield 0.0 if warmup_fraction > 0 else initial_rate
    raise ValueError(
        f"{name}: the run's length is unknown: {', '.join(f'{k} = {settings[k]}' for k in unresolved)} "
        "was not filled in, because the optimizer was built from [training.optimizer] alone "
        "(nlp.create_optimizer(), nlp.initialize(), nlp.resume_training()), not by `spacy train`. "
        "In your own training loop pass an optimizer of your own (sgd=...) or set the schedule's total_steps."
    )
