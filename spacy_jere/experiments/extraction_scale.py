"""Corpus extraction at scale (issue 17): docs/s and peak memory per worker of
``python -m spacy_jere extract`` for the local engine (1 process, ``--n-process 2``) and
Ray (1 and 2 actors), over a corpus of N documents made from the CoNLL04 and SciERC
texts; and a projection for 10 million documents. Each set-up runs as its own command
(a fresh OUTPUT each), one after the other; memory is sampled from /proc for the command's
whole process tree (the driver, spaCy's worker processes, Ray's actors). Writes
bench/extraction/scale.json and .md.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List

from .machine import machine

SETUPS = {
    "local, 1 process": ["--engine", "local"],
    "local, --n-process 2": ["--engine", "local", "--n-process", "2"],
    "ray, 1 actor": ["--engine", "ray", "--workers", "1"],
    "ray, 2 actors": ["--engine", "ray", "--workers", "2"],
}


def make_corpus(corpora: List[Path], n_docs: int, out: Path) -> dict:
    """A .jsonl of n_docs documents: the corpora's texts in turn (each a sentence or a
    short document), cycled until there are n_docs; ids doc-0... Returns counts."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    texts = []
    for path in corpora:
        texts.extend(doc.text for doc in DocBin().from_disk(path).get_docs(nlp.vocab))
    out.parent.mkdir(parents=True, exist_ok=True)
    words = 0
    with out.open("w", encoding="utf8") as file:
        for i in range(n_docs):
            text = texts[i % len(texts)]
            words += len(text.split())
            file.write(json.dumps({"id": f"doc-{i}", "text": text}) + "\n")
    return {"docs": n_docs, "distinct_texts": len(texts), "words": words}


def _children() -> Dict[int, List[int]]:
    tree: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def _tree_rss(root: int) -> Dict[int, tuple]:
    """{pid: (RSS MiB, command line)} of root and all its descendants."""
    tree, found, stack = _children(), {}, [root]
    while stack:
        pid = stack.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        found[pid] = (rss / 1024, cmd)
        stack.extend(tree.get(pid, []))
    return found


def _is_worker(cmd: str, setup: str) -> bool:
    if setup.startswith("ray"):
        return "ExtractActor" in cmd or "MapWorker" in cmd
    return "spacy_jere" in cmd or "multiprocessing" in cmd


def run_setup(model: str, corpus: Path, out: Path, setup: str, batch_size: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "spacy_jere", "extract", model, str(corpus), str(out), "--no-progress",
               "--batch-size", str(batch_size), *SETUPS[setup]]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peaks = {"total": 0.0, "worker": 0.0, "workers_seen": set()}

    def sample():
        while process.poll() is None:
            rss = _tree_rss(process.pid)
            peaks["total"] = max(peaks["total"], sum(mib for mib, _ in rss.values()))
            for pid, (mib, cmd) in rss.items():
                # With --n-process the parent only feeds the workers (it holds a copy too:
                # it counts in the total, not as a worker).
                if _is_worker(cmd, setup) and not ("n-process" in setup and pid == process.pid):
                    peaks["worker"] = max(peaks["worker"], mib)
                    peaks["workers_seen"].add(pid)
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - start
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{setup}: extract failed\n{stdout[-2000:]}\n{stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    run = summary["this_run"]
    return {
        "setup": setup, "command": " ".join(command[1:]), "docs": run["docs"], "wall_seconds": wall,
        "docs_per_s": run["docs"] / wall, "engine_docs_per_s": run["docs_per_second"],
        "peak_rss_total_mib": peaks["total"], "peak_rss_per_worker_mib": peaks["worker"],
        "worker_processes": len(peaks["workers_seen"]), "entities": summary["total"]["entities"],
        "relations": summary["total"]["relations"],
    }


def projection(results: List[dict], n_docs: int = 10_000_000) -> List[str]:
    """Hours for n_docs on N machines like this one, from the measured 2-worker figures."""
    best = max(results, key=lambda r: r["docs_per_s"])
    lines = [f"Projection for {n_docs:,} documents like these (mean length as measured), from the fastest "
             f"set-up measured here ({best['setup']}: {best['docs_per_s']:.1f} docs/s on this 2-core machine, "
             f"{best['worker_processes']} worker process(es)): hours = {n_docs:,} / ({best['docs_per_s']:.1f} x N "
             "machines running that set-up) / 3600.", ""]
    lines += ["| machines like this, each running that set-up | hours |", "| --- | --- |"]
    for machines in (1, 10, 100):
        lines.append(f"| {machines} | {n_docs / (best['docs_per_s'] * machines) / 3600:.1f} |")
    lines += ["", "How throughput grows with workers is what the rows with 1 and 2 workers measure; with "
              "more cores per machine, use the docs/s measured with as many workers. "
              "GPU: not measured here (no GPU); measure one actor's docs/s on your GPU "
              "(`--engine ray --gpus-per-worker 1`, or `python -m spacy_jere.experiments inference-model MODEL "
              "DEV --gpu-id 0`) and use it in the same formula.", ""]
    return lines


def measure(model: str, corpora: List[Path], n_docs: int, work: Path, out: Path, command: str,
            setups: List[str], batch_size: int = 8, note: str = "") -> dict:
    corpus = work / "corpus.jsonl"
    counts = make_corpus(corpora, n_docs, corpus)
    results = []
    for setup in setups:
        results.append(run_setup(model, corpus, work / "out" / setup.replace(" ", "_").replace(",", ""), setup,
                                 batch_size))
        print(results[-1], flush=True)
    if out.exists():  # keep the set-ups measured by earlier runs on the same corpus
        earlier = json.loads(out.read_text())
        same_run = (earlier.get("corpus"), earlier.get("model"), earlier.get("machine"), earlier.get("batch_size"))
        if same_run == (counts, model, machine(), batch_size):
            results = [r for r in earlier["results"] if r["setup"] not in setups] + results
            results.sort(key=lambda r: list(SETUPS).index(r["setup"]))
            command = "; ".join(dict.fromkeys([earlier["command"], command]))
            note = " ".join(dict.fromkeys(filter(None, [earlier.get("note", ""), note])))
    report = {"command": command, "machine": machine(), "model": model, "corpora": [str(p) for p in corpora],
              "corpus": counts, "batch_size": batch_size, "results": results, "note": note}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf8")
    out.with_suffix(".md").write_text(markdown(report), encoding="utf8")
    return report


def markdown(report: dict) -> str:
    m, c = report["machine"], report["corpus"]
    base = report["results"][0]["docs_per_s"]
    lines = [
        "# Corpus extraction at scale", "",
        f"`{report['command']}` (model `{report['model']}`; {m['cpu']}, {m['cores']} cores, no GPU). "
        f"{c['docs']:,} documents ({c['words']:,} words) made from {c['distinct_texts']:,} CoNLL04 and SciERC "
        f"texts ({', '.join(report['corpora'])}), cycled; batch {report['batch_size']}; each set-up one "
        "`extract` command into a fresh OUTPUT, one after the other, 1 torch thread per worker. docs/s: "
        "documents over the command's wall time (start-up and loading included); memory sampled from /proc every "
        "0.5 s over the command's process tree.", "",
        "| set-up | docs | wall (s) | docs/s | x first row | peak RSS per worker (MiB) | peak RSS, all processes "
        "(MiB) | entities | relations |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in report["results"]:
        lines.append(f"| {r['setup']} | {r['docs']:,} | {r['wall_seconds']:.0f} | {r['docs_per_s']:.1f} | "
                     f"{r['docs_per_s'] / base:.2f} | {r['peak_rss_per_worker_mib']:.0f} | "
                     f"{r['peak_rss_total_mib']:.0f} | {r['entities']:,} | {r['relations']:,} |")
    lines += [""] + projection(report["results"])
    if report.get("note"):
        lines += ["", f"**Conditions.** {report['note']}"]
    return "\n".join(lines)


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--corpora", type=Path, nargs="+", default=[
        Path("corpus/conll04/train.spacy"), Path("corpus/conll04/dev.spacy"),
        Path("corpus/scierc/train.spacy"), Path("corpus/scierc/dev.spacy")])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--batch-size", type=int, default=8, help="extract's default")
    parser.add_argument("--work", type=Path, default=Path("training/extraction_scale"))
    parser.add_argument("--out", type=Path, default=Path("bench/extraction/scale.json"))
    parser.add_argument("--note", default="", help="what else ran on the machine, and anything a reader must know")
    args = parser.parse_args(argv)
    command = "python -m spacy_jere.experiments.extraction_scale " + " ".join(sys.argv[1:] if argv is None else argv)
    measure(args.model, args.corpora, args.docs, args.work, args.out, command, args.setups, args.batch_size,
            args.note)


if __name__ == "__main__":
    main()
