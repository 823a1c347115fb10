"""The speed figures of the experiment rows (python -m spacy_jere.experiments speed)."""
import json

from spacy_jere.experiments.speed import earlier_speed_figures


def test_speed_figures_of_earlier_runs_are_kept_with_their_batch_sizes(tmp_path):
    """A speed run of some rows merges into the file; rows of an older file (one batch
    size and step count at the top) carry those into their own entries."""
    path = tmp_path / "speed.json"
    assert earlier_speed_figures(path, "conll04") == {"dataset": "conll04", "rows": {}}
    machine = {"cpu": "x", "cores": 2}
    path.write_text(json.dumps({
        "dataset": "conll04", "batch_size": 8, "steps": 60, "machine": machine,
        "rows": {"baseline": {"seconds_per_epoch": 41.0, "model": "m"}, "gated": {"seconds_per_epoch": 50.0}},
    }))
    figures = earlier_speed_figures(path, "conll04")
    assert "batch_size" not in figures and "steps" not in figures and "machine" not in figures
    assert figures["rows"]["baseline"] == {"seconds_per_epoch": 41.0, "model": "m", "train_batch_size": 8,
                                           "train_steps": 60, "inference_batch_size": 8, "machine": machine}
    assert "inference_batch_size" not in figures["rows"]["gated"]
    assert figures["rows"]["gated"]["train_batch_size"] == 8
    assert earlier_speed_figures(path, "scierc") == {"dataset": "scierc", "rows": {}}
