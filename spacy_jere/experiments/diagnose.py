"""Training diagnostics of a row (issue 15: why do papers 001's and 004's full models lose
to the baseline?). Trains the row with spaCy's own loop for ``steps`` steps and records,
every step: each loss term of the head (``HeadLoss.terms``), the training batch's
phase-one decisions (entity / not, relation / not: recall and precision of the gold items
among the batch's candidates), and the gradient and weight norms of the parameter groups
(the transformer, each top-level part of the net: span encoder, relation encoder, the
head's classifiers, gates, feature embeddings), read just before each optimizer step.
Then scores the model on dev. Writes bench/diagnostics/<dataset>/<row>.json and .md
(means over windows of ``window`` steps)."""
import json
import math
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List


def _torch_groups(pipe) -> Dict[str, list]:
    net = pipe.model.get_ref("net").layers[0].shims[0]._model
    groups = defaultdict(list)
    for name, param in net.named_parameters():
        parts = name.split(".")
        group = ".".join(parts[:2]) if parts[0] == "head" else parts[0]
        groups[group].append(param)
    return dict(groups)


def _transformer_params(nlp) -> list:
    if "transformer" not in nlp.pipe_names:
        return []
    params = []
    for node in nlp.get_pipe("transformer").model.walk():
        for shim in node.shims:
            params.extend(shim._model.parameters())
    return params


def _norms(params: list) -> Dict[str, float]:
    grads = [p.grad.detach().float().norm() ** 2 for p in params if p.grad is not None]
    weights = [p.detach().float().norm() ** 2 for p in params]
    return {"grad": float(sum(grads)) ** 0.5 if grads else 0.0, "weight": float(sum(weights)) ** 0.5}


def _decisions(head, output: dict, span_targets, pair_targets) -> Dict[str, float]:
    """Phase-one recall / precision on the training batch (the head's yes/no decisions)."""
    def host(array):
        return array.get() if hasattr(array, "get") else array

    span_logits, rel_logits = host(output["span_logits"]), host(output["relation_logits"])
    span_targets, pair_targets = host(span_targets), host(pair_targets)
    predicted, found = head.detected(span_logits, rel_logits)
    gold = span_targets > 0
    out = {"entity_recall": _ratio((predicted & gold).sum(), gold.sum()),
           "entity_precision": _ratio((predicted & gold).sum(), predicted.sum())}
    if rel_logits.size:
        has = pair_targets.sum(-1) > 0
        out.update(relation_recall=_ratio((found & has).sum(), has.sum()),
                   relation_precision=_ratio((found & has).sum(), found.sum()))
    return out


def _ratio(a, b) -> float:
    return float(a) / float(b) if b else math.nan


def diagnose(row: str, dataset: str, steps: int, seed: int, window: int, out: Path, command: str,
             sources: dict) -> Dict:
    from spacy.tokens import DocBin
    from spacy.training import Example
    from spacy.training.initialize import init_nlp
    from spacy.training.loop import train

    from .configs import row_config
    from .machine import machine
    from .runner import corpus_dir

    corpus = corpus_dir(dataset)
    config = row_config(row, sources)
    config["paths"]["train"] = str(corpus / "train.spacy")
    config["paths"]["dev"] = str(corpus / "dev.spacy")
    config["system"]["seed"] = seed
    config["training"]["max_steps"] = steps
    config["training"]["eval_frequency"] = 10 * steps  # no dev evaluation inside the run
    nlp = init_nlp(config)
    pipe = nlp.get_pipe("span_relation")
    head = pipe.head
    records: List[dict] = []
    current: dict = {}
    groups = _torch_groups(pipe)
    transformer = _transformer_params(nlp)

    original_loss = head.loss

    def loss(ops, output, span_targets, pair_targets):
        result = original_loss(ops, output, span_targets, pair_targets)
        current.update({f"loss_{k}": float(v) for k, v in result.terms.items()})
        current.update(_decisions(head, output, span_targets, pair_targets))
        return result

    head.loss = loss
    if transformer:
        trf = nlp.get_pipe("transformer")
        original_trf_update = trf.finish_update

        def trf_finish_update(sgd):
            current["transformer"] = _norms(transformer)
            return original_trf_update(sgd)

        trf.finish_update = trf_finish_update
    original_update = pipe.finish_update

    def finish_update(sgd):
        for name, params in groups.items():
            current[name] = _norms(params)
        current["learn_rate"] = float(sgd.learn_rate)
        records.append(dict(current))
        current.clear()
        return original_update(sgd)

    pipe.finish_update = finish_update
    start = time.perf_counter()
    train(nlp, None)
    seconds = time.perf_counter() - start
    head.loss = original_loss
    dev = list(DocBin().from_disk(corpus / "dev.spacy").get_docs(nlp.vocab))
    scores = nlp.evaluate([Example(nlp.make_doc(doc.text), doc) for doc in dev])
    results = {
        "command": command, "row": row, "dataset": dataset, "seed": seed, "steps": steps, "seconds": round(seconds),
        "machine": machine(), "learn_rate_scale": pipe.model.attrs["learn_rate_scale"],
        "dev": {k: 100 * scores[k] for k in ("ent_f", "rel_f", "rel_strict_f")},
        "windows": summarize(records, window),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf8")
    out.with_suffix(".md").write_text(table(results), encoding="utf8")
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return results


def summarize(records: List[dict], window: int) -> List[dict]:
    """Means over consecutive windows of steps (NaN entries, e.g. no gold in a batch, skipped)."""
    out = []
    for lo in range(0, len(records), window):
        chunk = records[lo:lo + window]
        flat = defaultdict(list)
        for record in chunk:
            for key, value in record.items():
                if isinstance(value, dict):
                    for sub, v in value.items():
                        flat[f"{key}.{sub}"].append(v)
                elif not (isinstance(value, float) and math.isnan(value)):
                    flat[key].append(value)
        out.append({"steps": f"{lo + 1}-{lo + len(chunk)}",
                    **{k: round(sum(v) / len(v), 6) for k, v in sorted(flat.items()) if v}})
    return out


def table(results: Dict) -> str:
    windows = results["windows"]
    keys = [k for k in windows[0] if k != "steps"] if windows else []
    lines = [f"# Training diagnostics: {results['row']} on {results['dataset']}", "",
             f"`{results['command']}` (seed {results['seed']}, {results['steps']} steps, {results['seconds']} s; "
             f"{results['machine'].get('cpu')}, {results['machine'].get('cores')} cores). Means per window of "
             "steps: loss terms, phase-one recall / precision on the training batch, gradient and weight norms per "
             "parameter group before each optimizer step (the net's groups get learn_rate_scale = "
             f"{results['learn_rate_scale']} times the transformer's rate). Dev after training: entity "
             f"{results['dev']['ent_f']:.2f}, rel {results['dev']['rel_f']:.2f}, rel_strict "
             f"{results['dev']['rel_strict_f']:.2f}.", "",
             "| measure | " + " | ".join(w["steps"] for w in windows) + " |",
             "| --- |" + " --- |" * len(windows)]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(_cell(w.get(key)) for w in windows) + " |")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{value:.3g}"
