"""Issue 13's inference check: the span_relation head of this checkout against the code
before the redesign (78ba5c8), trained the same way, timed in one session, one process
after the other (old, new, old, new), 1 torch thread, on CoNLL04 dev.

    git worktree add /tmp/old 78ba5c8
    python scripts/bench_head_old_vs_new.py train old /tmp/old_model   # and: train new /tmp/new_model
    python scripts/bench_head_old_vs_new.py time old /tmp/old_model/model-last OUT.json
    python scripts/bench_head_old_vs_new.py report OUT.json... > bench/redesign/conll04_head_old_vs_new.json

The old package is imported from /tmp/old with the installed package's entry points
hidden (catalogue reads them), so both versions run in the same virtualenv. A script, not a module of
spacy_jere.experiments: it must choose which spacy_jere to import before any is imported."""
import json
import statistics
import sys
import time

OLD_TREE = "/tmp/old"
STEPS = 300


def use_old_code():
    sys.path.insert(0, OLD_TREE)
    import catalogue

    original = catalogue.Registry._get_entry_points
    catalogue.Registry._get_entry_points = lambda self: [
        ep for ep in original(self) if not ep.value.startswith("spacy_jere")]
    import spacy_jere

    assert spacy_jere.__file__.startswith(OLD_TREE), spacy_jere.__file__


def train(which: str, output: str) -> None:
    from pathlib import Path

    from spacy.cli.train import train as spacy_train

    config = f"{OLD_TREE}/configs/fast.cfg" if which == "old" else "configs/fast.cfg"
    spacy_train(Path(config), Path(output), overrides={
        "paths.train": "corpus/conll04/train.spacy", "paths.dev": "corpus/conll04/dev.spacy",
        "system.seed": 0, "training.max_steps": STEPS, "training.eval_frequency": 1000})


def time_head(which: str, model: str, out: str, repeats: int = 5) -> None:
    import spacy
    import torch
    from spacy.tokens import DocBin

    torch.set_num_threads(1)
    nlp = spacy.load(model)
    texts = [d.text for d in DocBin().from_disk("corpus/conll04/dev.spacy").get_docs(nlp.vocab)]
    head = nlp.get_pipe("span_relation")
    rows = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        docs = list(nlp.pipe(texts, batch_size=8, disable=["span_relation"]))
        t1 = time.perf_counter()
        docs = list(head.pipe(docs, batch_size=8))
        rows.append({"encoder_s": t1 - t0, "head_s": time.perf_counter() - t1})
    counts = {"entities": sum(len(g) for d in docs for g in d.spans.values()),
              "relations": sum(len(d._.relations or []) for d in docs)}
    json.dump({"which": which, "model": model, "rows": rows, **counts}, open(out, "w"))


def report(paths) -> None:
    runs = [json.load(open(p)) for p in paths]
    summary = {}
    for which in ("old", "new"):
        rows = [r for run in runs if run["which"] == which for r in run["rows"]]
        head, encoder = (statistics.median(r[k] for r in rows) for k in ("head_s", "encoder_s"))
        last = [run for run in runs if run["which"] == which][-1]
        summary[which] = {"head_s_median": head, "encoder_s_median": encoder,
                          "time_ratio_full_over_encoder": (head + encoder) / encoder, "timings": len(rows),
                          "entities": last["entities"], "relations": last["relations"]}
    summary["head_new_over_old"] = summary["new"]["head_s_median"] / summary["old"]["head_s_median"]
    from spacy_jere.experiments.machine import machine

    print(json.dumps({"command": "python scripts/bench_head_old_vs_new.py " + " ".join(sys.argv[1:]),
                      "procedure": __doc__, "machine": machine(), "data": "corpus/conll04/dev.spacy (231 docs)",
                      "training": f"configs/fast.cfg of each version, seed 0, {STEPS} steps", "batch_size": 8,
                      **summary, "runs": runs}, indent=2))


if __name__ == "__main__":
    verb, *args = sys.argv[1:]
    if verb in ("train", "time") and args[0] == "old":
        use_old_code()
    {"train": lambda: train(*args), "time": lambda: time_head(*args), "report": lambda: report(args)}[verb]()
