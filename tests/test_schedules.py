import pytest
import spacy
from spacy.tokens import DocBin
from thinc.api import Config, registry
from thinc.schedules import warmup_linear

from spacy_jere.schedules import count_train_examples, schedule_steps, warmup_linear_epochs


def write_docs(path, n):
    nlp = spacy.blank("en")
    DocBin(docs=[nlp.make_doc(f"sentence {i} .") for i in range(n)]).to_disk(path)
    return path


def take(schedule, n):
    return [next(schedule) for _ in range(n)]


def test_matches_warmup_linear_over_the_runs_steps(tmp_path):
    # 922 docs (CoNLL04 train) at 8 a batch for 20 epochs: the 2320 / 232 steps the
    # configs used to write in, so runs before and after this schedule are comparable.
    corpus = write_docs(tmp_path / "train.spacy", 922)
    assert schedule_steps(922, 8, 20, 0, 0.1) == (232, 2320)
    assert schedule_steps(922, 2, 20, 0, 0.1) == (922, 9220)
    ours = take(warmup_linear_epochs(1e-4, corpus, 8, 20), 2400)
    assert ours == pytest.approx(take(warmup_linear(1e-4, 232, 2320), 2400), abs=1e-15)
    assert ours[0] == 0.0 and ours[232] == pytest.approx(1e-4) and ours[2320:] == [0.0] * 80


def test_length_follows_the_corpus_epochs_and_max_steps(tmp_path):
    corpus = write_docs(tmp_path / "train.spacy", 10)
    assert count_train_examples(corpus) == 10
    assert count_train_examples(tmp_path) == 10  # a directory of .spacy files, as spacy.Corpus reads
    rates = take(warmup_linear_epochs(1.0, corpus, 4, 5, warmup_fraction=0.2), 20)  # 3 steps x 5 epochs
    assert rates[3] == pytest.approx(1.0) and rates[14] == pytest.approx(1 / 12) and rates[15:] == [0.0] * 5
    capped = take(warmup_linear_epochs(1.0, corpus, 4, 5, max_steps=6, warmup_fraction=0.0), 8)
    assert capped == pytest.approx([1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0.0, 0.0])
    fixed = take(warmup_linear_epochs(1.0, total_steps=4, warmup_fraction=0.5), 5)  # nothing else needed
    assert fixed == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0])


def test_counts_the_examples_the_train_reader_yields(tmp_path):
    # A long doc of two sentences (6 + 4 tokens), a short one, an empty one (spaCy skips
    # it): max_length splits the long doc into its sentences and drops sentences as long
    # as max_length; limit keeps the first non-empty docs; gold_preproc yields sentences.
    nlp = spacy.blank("en")
    long_doc = nlp.make_doc("one two three four five . six seven eight .")
    for token in long_doc:
        token.is_sent_start = token.i in (0, 6)
    short_doc = nlp.make_doc("short one .")
    short_doc[0].is_sent_start = True
    corpus = tmp_path / "train.spacy"
    DocBin(docs=[long_doc, nlp.make_doc(""), short_doc]).to_disk(corpus)
    assert count_train_examples(corpus) == 2
    assert count_train_examples(corpus, max_length=20) == 2
    assert count_train_examples(corpus, max_length=8) == 3  # long doc -> its 2 sentences
    assert count_train_examples(corpus, max_length=5) == 2  # ... and its 6-token sentence dropped
    assert count_train_examples(corpus, limit=1) == 1
    assert count_train_examples(corpus, gold_preproc=True) == 3
    # Through the schedule: 3 examples at 2 a batch -> 2 steps an epoch, 2 epochs.
    rates = take(warmup_linear_epochs(1.0, corpus, 2, 2, warmup_fraction=0.0, max_length=8), 6)
    assert rates == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0, 0.0])


def test_resolves_without_a_corpus_and_counts_it_at_the_first_step(tmp_path):
    # Resolving [training] builds the optimizer (step 0) before any corpus is read; the
    # corpus is counted at step 1, so a missing one is named there.
    config = Config().from_str(
        """
        [optimizer]
        @optimizers = "Adam.v1"

        [optimizer.learn_rate]
        @schedules = "spacy_jere.warmup_linear_epochs.v1"
        initial_rate = 0.001
        train_corpus = null
        batch_size = 8
        max_epochs = 20
        """
    )
    optimizer = registry.resolve(config)["optimizer"]
    assert optimizer.learn_rate == 0.0
    with pytest.raises(ValueError, match="train_corpus is null"):
        optimizer.step_schedules()


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"batch_size": 0}, "batch_size must be a positive number"),
        ({"max_epochs": 0}, "the run has no end"),
        ({"max_length": "50"}, "max_length must be an integer"),
        ({"warmup_fraction": 1.0}, "warmup_fraction must be in"),
    ],
)
def test_bad_settings_are_named(tmp_path, settings, message):
    args = {"initial_rate": 1e-3, "train_corpus": tmp_path, "batch_size": 8, "max_epochs": 20, **settings}
    with pytest.raises(ValueError, match=message):
        warmup_linear_epochs(**args)


def test_missing_or_empty_corpus_is_named(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        take(warmup_linear_epochs(1e-3, tmp_path / "nope.spacy", 8, 20), 2)
    with pytest.raises(ValueError, match="holds no training examples"):
        take(warmup_linear_epochs(1e-3, write_docs(tmp_path / "empty.spacy", 0), 8, 20), 2)


def test_optimizer_from_a_pipeline_config_alone_builds_and_names_the_gap_when_stepped():
    # nlp.initialize() builds the optimizer from [training.optimizer] without the rest of
    # the config: the ${...} references stay text.
    schedule = {"@schedules": "spacy_jere.warmup_linear_epochs.v1", "initial_rate": 0.001, "train_corpus": None,
                "batch_size": "${training.batcher.size}", "max_epochs": "${training.max_epochs}"}
    config = {"optimizer": {"@optimizers": "Adam.v1", "learn_rate": schedule}}
    optimizer = registry.resolve(config)["optimizer"]
    assert optimizer.learn_rate == 0.0
    with pytest.raises(ValueError, match=r"batch_size = \$\{training.batcher.size\}.*total_steps"):
        optimizer.step_schedules()
