"""Accuracy on documents of N sentences: consecutive dev sentences joined into one doc
(gold entities and relations carried over), scored with the same trained pipeline in
three set-ups: spacy-transformers' strided windows across sentences (spacy-jere 0.2.0),
sentence windows (``spacy_jere.sentence_windows.v1``), and the shipped pipeline (sentence
windows + ``long_sentence_splitter``). Also docs of N sentences without their full stops
(one long "sentence" to the sentencizer). Writes bench/paragraphs/<dataset>.json and .md."""
import json
import time
from pathlib import Path
from typing import Dict, List, Sequence

STRIDED = {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 128, "stride": 96}
SENTENCE = {"@span_getters": "spacy_jere.sentence_windows.v1", "window": 128, "stride": 96}
# name -> (get_spans, components excluded)
SETUPS = {
    "strided": (STRIDED, ["long_sentence_splitter"]),
    "sentence": (SENTENCE, ["long_sentence_splitter"]),
    "shipped": (SENTENCE, []),
}
SETUP_NAMES = {"strided": "strided windows (0.2.0)", "sentence": "sentence windows",
               "shipped": "sentence windows + splitter (shipped)"}


def _final_stop(doc, spans_key: str) -> int:
    """1 if the doc ends with a full stop outside every entity, else 0."""
    last = len(doc) - 1
    covered = any(s.end > last for s in doc.spans.get(spans_key, []))
    return int(len(doc) > 1 and doc[last].text in {".", "!", "?"} and not covered)


def join_docs(vocab, docs: Sequence, spans_key: str = "entities", drop_stops: bool = False):
    """One gold doc from several: tokens, sentence starts, entities and relations; with
    ``drop_stops`` the sentences' final full stops are left out."""
    from spacy.tokens import Doc, Span

    from ..relations import Relation, get_relations, set_relations

    words, spaces, sent_starts, ents, rels = [], [], [], [], []
    for doc in docs:
        offset, n = len(words), len(doc) - (_final_stop(doc, spans_key) if drop_stops else 0)
        words.extend(t.text for t in doc[:n])
        spaces.extend([True] * n)  # one space between sentences too
        sent_starts.extend([True] + [False] * (n - 1))
        ents.extend((s.start + offset, s.end + offset, s.label_) for s in doc.spans.get(spans_key, []))
        rels.extend((r.head.start + offset, r.head.end + offset, r.tail.start + offset, r.tail.end + offset, r.label)
                    for r in get_relations(doc))
    joined = Doc(vocab, words=words, spaces=spaces, sent_starts=sent_starts)
    spans = {(s, e): Span(joined, s, e, label=label) for s, e, label in ents}
    joined.spans[spans_key] = list(spans.values())
    set_relations(joined, [Relation(spans[(hs, he)], spans[(ts, te)], label) for hs, he, ts, te, label in rels])
    return joined


def cases(sizes: Sequence[int], no_stops: Sequence[int]) -> List[str]:
    """"N": N sentences a doc with their gold sentence starts (what the windows do);
    "N, sentencizer": the sentences found by the pipeline's sentencizer (CoNLL04's gold
    tokens often carry the full stop, "storm.", so it misses boundaries); "N, no full
    stops": no sentence boundary to find; "N, raw text": the text tokenized by spaCy, as a
    user's text is (a tokenization unlike the corpus's, so N = 1 scores lower too)."""
    out = [str(n) for n in sizes] + [f"{n}, sentencizer" for n in sizes if n > 1]
    out += [f"{n}, raw text" for n in (min(sizes), max(sizes))]
    return out + [f"{n}, no full stops" for n in no_stops]


def predicted_doc(vocab, gold, keep_sentences: bool):
    """The gold tokens, as in training (spaCy's tokenizer would split some CoNLL04
    tokens differently, a separate effect), with or without the gold sentence starts."""
    from spacy.tokens import Doc

    starts = [bool(t.is_sent_start) for t in gold] if keep_sentences else None
    return Doc(vocab, words=[t.text for t in gold], spaces=[bool(t.whitespace_) for t in gold], sent_starts=starts)


def score(model: str, dev: Path, sizes: Sequence[int], no_stops: Sequence[int], setup: str) -> Dict:
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Example

    get_spans, exclude = SETUPS[setup]
    overrides = {"components": {"transformer": {"model": {"get_spans": get_spans}}}}
    nlp = spacy.load(model, exclude=exclude, config=overrides)
    gold = list(DocBin().from_disk(dev).get_docs(nlp.vocab))
    out = {}
    for case in cases(sizes, no_stops):
        n, drop, keep = int(case.split(",")[0]), case.endswith("full stops"), "," not in case
        joined = [join_docs(nlp.vocab, gold[i:i + n], drop_stops=drop) for i in range(0, len(gold), n)]
        if case.endswith("raw text"):
            examples = [Example(nlp.make_doc(doc.text), doc) for doc in joined]
        else:
            examples = [Example(predicted_doc(nlp.vocab, doc, keep), doc) for doc in joined]
        pipe = nlp.get_pipe("span_relation")
        dropped_before, start = pipe.n_dropped_pairs, time.perf_counter()
        scores = nlp.evaluate(examples, batch_size=8)
        out[case] = {
            "docs": len(joined), "ent_f": 100 * scores["ent_f"], "rel_f": 100 * scores["rel_f"],
            "rel_strict_f": 100 * scores["rel_strict_f"], "seconds": round(time.perf_counter() - start, 1),
            "dropped_pairs": pipe.n_dropped_pairs - dropped_before,
        }
        print(setup, case, out[case], flush=True)
    return out


def measure(model: str, dev: Path, dataset: str, sizes: List[int], no_stops: List[int], out: Path,
            command: str) -> None:
    from .machine import machine

    results = {"command": command, "model": model, "dev": str(dev), "dataset": dataset, "machine": machine(),
               "setups": {name: score(model, dev, sizes, no_stops, name) for name in SETUPS}}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf8")
    out.with_suffix(".md").write_text(table(results, cases(sizes, no_stops)), encoding="utf8")
    print(f"wrote {out} and {out.with_suffix('.md')}")


def table(results: Dict, rows: List[str]) -> str:
    machine = results["machine"]
    lines = [f"# Documents of N sentences: {results['dataset']} dev", "",
             f"`{results['command']}` (model `{results['model']}`; {machine.get('cpu')}, {machine.get('cores')} "
             "cores). Consecutive dev sentences joined into one doc (gold carried over); entity / rel_strict F1 "
             "(micro, %) of one trained pipeline in three set-ups; dropped = candidate pairs over the head's "
             "max_pairs. \"N\": the gold sentence starts kept; \"N, sentencizer\": sentences found by the "
             "pipeline's sentencizer; \"no full stops\": the sentences' final full stops left out, so there is "
             "one long sentence; \"raw text\": the text tokenized by spaCy (other tokens than the corpus's). "
             "Gold tokens elsewhere.", "",
             "| sentences a doc | docs | " + " | ".join(f"{SETUP_NAMES[s]}: entity / rel_strict F1 (dropped)"
                                                       for s in SETUPS) + " |",
             "| --- | --- |" + " --- |" * len(SETUPS)]
    for case in rows:
        cells = []
        for setup in SETUPS:
            r = results["setups"][setup][case]
            cells.append(f"{r['ent_f']:.2f} / {r['rel_strict_f']:.2f} ({r['dropped_pairs']})")
        lines.append(f"| {case} | {results['setups']['shipped'][case]['docs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
