"""What span pruning does (issue 15): one pipeline trained with a ``SpanPruner``, scored
on dev at several retention factors (the retention is read at call time, so the same
weights serve every row; retention 1.0 classifies every candidate, i.e. no pruning at
inference). Per retention: recall of the gold spans among the kept candidates, entity /
rel_strict F1, candidates classified, and the span_relation component's time (predict +
set_annotations, the transformer's output computed once beforehand and excluded). Then
the component's time per 1,000 words on one long document of consecutive dev sentences.
Writes bench/pruning/<dataset>.json and .md."""
import json
import time
from pathlib import Path
from typing import Dict, List, Sequence


def _annotate_before(nlp, docs: List, batch_size: int) -> List:
    """The docs through every component before span_relation (transformer included)."""
    names = nlp.pipe_names[: nlp.pipe_names.index("span_relation")]
    with nlp.select_pipes(enable=names):
        return list(nlp.pipe(docs, batch_size=batch_size))


def _run_head(pipe, docs: List, batch_size: int):
    """Annotate ``docs`` with the span_relation component alone; (seconds, gold spans
    kept, candidates, candidates kept)."""
    seconds, kept_total, candidates_total, kept_spans = 0.0, 0, 0, []
    for i in range(0, len(docs), batch_size):
        batch = docs[i:i + batch_size]
        start = time.perf_counter()
        scores = pipe.predict(batch)
        pipe.set_annotations(batch, scores)
        seconds += time.perf_counter() - start
        candidates, output = scores
        if output is None:
            continue
        kept = output["kept_spans"]
        candidates_total += len(candidates.spans)
        kept_total += len(kept)
        for row in kept:
            doc = int(candidates.span_docs[row])
            start_tok, end_tok = candidates.spans[row] - candidates.token_offsets[doc]
            kept_spans.append((i + doc, int(start_tok), int(end_tok)))
    return seconds, set(kept_spans), candidates_total, kept_total


def measure(model: str, dev: Path, dataset: str, retentions: Sequence[float], long_words: int, batch_size: int,
            out: Path, command: str, repeats: int = 3) -> Dict:
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Example

    from .machine import machine
    from .paragraphs import join_docs, predicted_doc

    nlp = spacy.load(model)
    pipe = nlp.get_pipe("span_relation")
    pruner = pipe.model.attrs.get("pruner")
    if pruner is None:
        raise SystemExit(f"{model}: its span_relation model has no span_pruner; train a pruning row first")
    trained_retention = pruner.retention
    gold = list(DocBin().from_disk(dev).get_docs(nlp.vocab))
    encoded = _annotate_before(nlp, [predicted_doc(nlp.vocab, doc, True) for doc in gold], batch_size)
    gold_spans = {(i, s.start, s.end) for i, doc in enumerate(gold) for s in doc.spans[pipe.spans_key]}
    rows = {}
    for retention in retentions:
        pruner.retention = retention
        docs = encoded  # annotations are overwritten at each retention
        # Best of `repeats` passes: the first also warms up, and other jobs on the machine
        # only ever add time.
        runs = [_run_head(pipe, docs, batch_size) for _ in range(max(repeats, 1))]
        seconds = min(run[0] for run in runs)
        _, kept, n_candidates, n_kept = runs[-1]
        scores = nlp.get_pipe("span_relation").score([Example(d, g) for d, g in zip(docs, gold, strict=True)])
        rows[str(retention)] = {
            "retention": retention, "gold_recall": 100 * len(gold_spans & kept) / max(len(gold_spans), 1),
            "ent_f": 100 * scores["ent_f"], "rel_strict_f": 100 * scores["rel_strict_f"],
            "candidates": n_candidates, "kept": n_kept, "head_seconds": round(seconds, 3),
        }
        print(rows[str(retention)], flush=True)
    long_doc = _long_document(nlp, gold, long_words, join_docs, predicted_doc)
    long_rows = {}
    for retention in (trained_retention, 1.0):
        pruner.retention = retention
        times = [_run_head(pipe, [long_doc], 1)[0] for _ in range(max(repeats, 1))]
        long_rows[str(retention)] = {"retention": retention, "seconds_per_1000_words": round(
            1000 * min(times) / len(long_doc), 4)}
    pruner.retention = trained_retention
    results = {"command": command, "model": model, "dev": str(dev), "dataset": dataset, "machine": machine(),
               "trained_retention": trained_retention, "gold_spans": len(gold_spans), "repeats": repeats,
               "retentions": rows,
               "long_document": {"words": len(long_doc), "rows": long_rows}}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf8")
    out.with_suffix(".md").write_text(table(results), encoding="utf8")
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return results


def _long_document(nlp, gold: List, words: int, join_docs, predicted_doc):
    n, total = 0, 0
    while n < len(gold) and total < words:
        total += len(gold[n])
        n += 1
    joined = join_docs(nlp.vocab, gold[:n])
    return _annotate_before(nlp, [predicted_doc(nlp.vocab, joined, True)], 1)[0]


def table(results: Dict) -> str:
    machine = results["machine"]
    lines = [f"# Span pruning: {results['dataset']} dev", "",
             f"`{results['command']}` (model `{results['model']}`, trained with retention "
             f"{results['trained_retention']}; {machine.get('cpu')}, {machine.get('cores')} cores). One trained "
             "pipeline scored at each retention factor (1.0: every candidate classified). Gold recall: gold "
             f"spans among the kept candidates ({results['gold_spans']} gold spans). Head time: the span_relation "
             "component alone (predict + set_annotations; the transformer's output computed beforehand), best of "
             f"{results.get('repeats', 1)} passes over dev.", "",
             "| retention | gold recall % | candidates kept | entity F1 | rel_strict F1 | head time (s) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in results["retentions"].values():
        lines.append(f"| {row['retention']} | {row['gold_recall']:.2f} | {row['kept']} of {row['candidates']} | "
                     f"{row['ent_f']:.2f} | {row['rel_strict_f']:.2f} | {row['head_seconds']:.2f} |")
    long = results["long_document"]
    lines += ["", f"One document of {long['words']} words (consecutive dev sentences), the component's time per "
              f"1,000 words (best of {results.get('repeats', 3)}):", "",
              "| retention | seconds per 1,000 words |", "| --- | --- |"]
    for row in long["rows"].values():
        lines.append(f"| {row['retention']} | {row['seconds_per_1000_words']:.3f} |")
    return "\n".join(lines) + "\n"
