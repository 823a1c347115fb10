"""scripts/bench_report.py's aggregation: seeds are averaged per entity decoding."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _report():
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "scripts" / "bench_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _scores(ent_f, loc_f):
    return {"ent_f": ent_f, "rel_strict_f": 0.5, "ent_per_type": {"Loc": {"f": loc_f}}}


def _run(seed, metrics, by_overlap=None):
    run = {"paper": "p", "seed": seed, "max_epochs": 20, "train_seconds": 10.0, "train_peak_rss_mib": 100,
           "metrics": metrics}
    if by_overlap is not None:
        run["metrics_by_entity_overlap"] = by_overlap
    return run


def test_per_type_uses_flat_decoding_only_when_every_seed_has_it():
    report = _report()
    both = [_run(0, _scores(0.8, 0.9), {"allow": _scores(0.7, 0.6), "flat": _scores(0.8, 0.9)}),
            _run(1, _scores(0.82, 0.7), {"allow": _scores(0.72, 0.5), "flat": _scores(0.82, 0.7)})]
    entry = report.aggregate({"d": {"row": both}})["d"]["row"]
    assert entry["per_type_decoding"] == "flat"
    assert entry["per_type"]["ent_per_type"]["Loc"]["mean"] == 80.0
    assert entry["by_entity_overlap"]["allow"]["ent_f"]["mean"] == 71.0

    # A seed scored before flat decoding existed has SpERT's decoding only: the
    # per-type figures fall back to "allow" for every seed, never a mix.
    mixed = [both[0], _run(1, _scores(0.72, 0.5))]
    entry = report.aggregate({"d": {"row": mixed}})["d"]["row"]
    assert entry["per_type_decoding"] == "allow"
    assert entry["per_type"]["ent_per_type"]["Loc"]["mean"] == 55.0
    assert entry["by_entity_overlap"]["flat"]["n"] == 1


def test_inference_ratio_divides_by_the_baseline_of_the_same_speed_run():
    """A row is compared with the baseline measured in its own speed run: a newer
    baseline figure (a later run on a drifted machine) does not move it."""
    report = _report()
    row = {"inference_docs_per_s": 80.0, "encoder_only_docs_per_s": 120.0,
           "baseline_in_run": {"inference_docs_per_s": 100.0, "encoder_only_docs_per_s": 125.0}}
    assert abs(report.inference_time_vs_baseline(row) - (120 / 80) / (125 / 100)) < 1e-9
    assert report.inference_time_vs_baseline({**row, "baseline_in_run": None}) is None
    speed = {"d": {"rows": {"row": row, "baseline": {"inference_docs_per_s": 50.0, "encoder_only_docs_per_s": 125.0,
                                                      "baseline_in_run": {"inference_docs_per_s": 50.0,
                                                                          "encoder_only_docs_per_s": 125.0}}}}}
    scores = {"n": 1, **{k: {"mean": 50.0, "min": 50.0, "max": 50.0, "n": 1}
                         for k in ("ent_f", "rel_f", "rel_strict_f", "ent_macro_f", "rel_macro_f", "rel_strict_macro_f")}}
    results = {"d": {name: {"paper": "p", "by_entity_overlap": {"allow": scores, "flat": {"n": 0}}}
                     for name in ("baseline", "row")}}
    table = report.ablation_table(results, speed, ["baseline", "row"])
    assert "vs baseline 1.20x" in table and "vs baseline 1.00x" in table
