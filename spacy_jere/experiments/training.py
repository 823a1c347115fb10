"""Training cost of our head against a trivial head on the same transformer listener
(a tagger), same batches, same process kind; each measured in its own subprocess so
that peak RSS is its own.
"""
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from . import layout

DEFAULT_CONFIG = layout.CONFIGS / "cpu.cfg"


def build(head: str, config_path: Path):
    from spacy.util import load_config, load_model_from_config

    config = load_config(config_path)
    if head == "tagger":
        listener = dict(config["components"]["span_relation"]["model"]["tok2vec"])
        config["nlp"]["pipeline"] = ["transformer", "tagger"]
        del config["components"]["span_relation"]
        del config["components"]["sentencizer"]
        config["components"]["tagger"] = {
            "factory": "tagger",
            "model": {"@architectures": "spacy.Tagger.v2", "nO": None, "normalize": False, "tok2vec": listener},
        }
    else:
        config["nlp"]["pipeline"] = ["transformer", "span_relation"]
        del config["components"]["sentencizer"]
    config["training"]["score_weights"] = {}
    return load_model_from_config(config, auto_fill=True, validate=True)


def examples_for(nlp, train_path: Path, head: str):
    from spacy.training import Corpus

    examples = list(Corpus(str(train_path))(nlp))
    if head == "tagger":  # any tags will do: the entity label of each token, or O
        for eg in examples:
            tags = ["O"] * len(eg.reference)
            for span in eg.reference.spans["entities"]:
                for i in range(span.start, span.end):
                    tags[i] = span.label_
            for token, tag in zip(eg.reference, tags, strict=True):
                token.tag_ = tag
    return examples


def measure(head: str, train_path: Path, steps: int, batch_size: int, config_path: Path, gpu_id: int = -1) -> dict:
    import spacy

    if gpu_id >= 0:
        spacy.require_gpu(gpu_id)
    spacy.util.fix_random_seed(0)
    nlp = build(head, config_path)
    examples = examples_for(nlp, train_path, head)
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(0)
    order = list(range(len(examples)))
    rng.shuffle(order)
    batches = [[examples[i] for i in order[j:j + batch_size]] for j in range(0, len(order), batch_size)]
    warmup = 5
    for batch in batches[:warmup]:
        nlp.update(batch, sgd=optimizer)
    timed = batches[warmup:warmup + steps]
    start = time.perf_counter()
    for batch in timed:
        nlp.update(batch, sgd=optimizer)
    elapsed = time.perf_counter() - start
    return {
        "head": head,
        "steps": len(timed),
        "docs": sum(len(b) for b in timed),
        "seconds": elapsed,
        "seconds_per_step": elapsed / len(timed),
        "seconds_per_epoch": elapsed / len(timed) * len(batches),
        "steps_per_epoch": len(batches),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def compare(train: Path, out: Path, steps: int, batch_size: int, config: Path, gpu_id: int) -> dict:
    """Our head and the tagger, twice each, interleaved; the best step time of each."""
    rows = []
    for head in ("tagger", "span_relation", "tagger", "span_relation"):
        child = subprocess.run(
            [sys.executable, "-m", "spacy_jere.experiments", "training", str(train), "--child", head,
             "--steps", str(steps), "--batch-size", str(batch_size), "--config", str(config), "--gpu-id", str(gpu_id)],
            capture_output=True, text=True, check=True, cwd=layout.ROOT,
        )
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    best = {h: min(r["seconds_per_step"] for r in rows if r["head"] == h) for h in ("tagger", "span_relation")}
    result = {
        "config": str(config),
        "data": str(train),
        "batch_size": batch_size,
        "gpu_id": gpu_id,
        "runs": rows,
        "best_seconds_per_step": best,
        "ratio_span_relation_over_tagger": best["span_relation"] / best["tagger"],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"span_relation / tagger seconds per step: {result['ratio_span_relation_over_tagger']:.3f} -> {out}")
    return result
