"""Corpus extraction with the local engine and the command: one result per input line,
ids, tables that match the pipeline's annotations, resume, bad records, --max-chars,
and the command's two uses."""
import builtins
import json

import pytest
import spacy
from typer.testing import CliRunner

from spacy_jere.cli import app
from spacy_jere.extraction import ExtractionError, ExtractUsageError, read_table
from spacy_jere.extraction.faults import ENV_DOC, ENV_ONCE
from spacy_jere.extraction.manifest import PARTS_FILE

from .extract_support import extract, tables, trained_model, write_corpus

pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'spacy-jere[parquet]')")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return trained_model(tmp_path_factory)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("extract_local") / "corpus"
    return folder, write_corpus(folder)


@pytest.fixture(scope="module")
def reference(model, corpus, tmp_path_factory):
    """One uninterrupted local run over the corpus (Parquet)."""
    output = tmp_path_factory.mktemp("extract_local") / "reference"
    summary = extract(model, corpus[0], output, part_size=3)
    return output, summary


def test_one_row_per_input_line_and_ids(reference, corpus):
    output, summary = reference
    expected = corpus[1]
    docs, skipped = read_table(output, "docs"), read_table(output, "skipped")
    seen = [(row["source"], row["line"]) for row in docs + skipped]
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    assert {(r["source"], r["line"]): r["doc_id"] for r in docs} == {k: v for k, v in expected.items() if v}
    assert {(r["source"], r["line"]) for r in skipped} == {k for k, v in expected.items() if v is None}
    reasons = {(r["source"], r["line"]): r["reason"] for r in skipped}
    assert reasons == {("plain.txt", 6): "empty_text", ("nested/records.jsonl", 3): "not_json",
                       ("nested/records.jsonl", 4): "no_text_field", ("nested/records.jsonl", 5): "text_not_string",
                       ("nested/records.jsonl", 7): "undecodable", ("table.parquet", 3): "empty_text"}
    assert summary["status"] == "finished"
    assert summary["total"]["docs"] == len(docs) == 12 and summary["total"]["skipped"] == 6
    assert summary["total"]["skipped_by_reason"]["empty_text"] == 2
    assert [(r["source"], r["line"]) for r in summary["skipped_examples"]] == sorted(reasons)
    meta = {r["doc_id"]: json.loads(r["meta"]) for r in docs}
    assert meta["j-1"] == {"lang": "en"} and meta["p-1"] == {"year": 2001}
    on_disk = json.loads((output / "summary.json").read_text(encoding="utf8"))
    assert on_disk["total"] == summary["total"]


def test_tables_hold_the_pipelines_annotations(reference, corpus, model):
    output, _ = reference
    nlp = spacy.load(model)
    docs = read_table(output, "docs")
    texts = {}
    for row in docs:
        source, line = row["source"], row["line"]
        if source == "plain.txt":
            texts[row["doc_id"]] = (corpus[0] / source).read_text(encoding="utf8").splitlines()[line - 1]
    entities, relations = read_table(output, "entities"), read_table(output, "relations")
    assert entities and relations
    for doc_id, text in texts.items():
        doc = nlp(text)
        group = doc.spans["entities"]
        want = sorted((s.start_char, s.end_char, s.text, s.label_, round(score, 5))
                      for s, score in zip(group, group.attrs["scores"], strict=True))
        got = sorted((r["start_char"], r["end_char"], r["text"], r["label"], round(r["score"], 5))
                     for r in entities if r["doc_id"] == doc_id)
        assert got == want
        assert all(text[start:end] == span for start, end, span, _, _ in got)
        want_rel = sorted((r.head.start_char, r.head.end_char, r.head.label_, r.tail.start_char, r.tail.end_char,
                           r.tail.label_, r.label) for r in doc._.relations)
        got_rel = sorted((r["head_start"], r["head_end"], r["head_label"], r["tail_start"], r["tail_end"],
                          r["tail_label"], r["label"]) for r in relations if r["doc_id"] == doc_id)
        assert got_rel == want_rel
    counts = {r["doc_id"]: (r["n_entities"], r["n_relations"]) for r in docs}
    for doc_id, (n_entities, n_relations) in counts.items():
        assert n_entities == sum(r["doc_id"] == doc_id for r in entities)
        assert n_relations == sum(r["doc_id"] == doc_id for r in relations)


def test_jsonl_output_and_generated_ids_stable_across_runs(reference, corpus, model, tmp_path):
    again = tmp_path / "jsonl"
    extract(model, corpus[0], again, part_size=3, format="jsonl")
    assert tables(again) == tables(reference[0])
    assert any(path.suffix == ".jsonl" for path in (again / "entities").iterdir())


def test_two_processes_give_the_same_tables(reference, corpus, model, tmp_path):
    output = tmp_path / "two"
    summary = extract(model, corpus[0], output, part_size=3, n_process=2, batch_size=2)
    assert summary["settings"]["n_process"] == 2
    assert tables(output) == tables(reference[0])


def test_resume_after_a_failure(reference, corpus, model, tmp_path, monkeypatch):
    output = tmp_path / "resumed"
    monkeypatch.setenv(ENV_DOC, "plain.txt:5")  # the second part of plain.txt (lines 4-6)
    monkeypatch.setenv(ENV_ONCE, str(tmp_path / "failed-once"))
    with pytest.raises(ExtractionError) as failure:
        extract(model, corpus[0], output, part_size=3, batch_size=2)
    message = str(failure.value)
    assert "injected failure" in message and "Run the same command again to resume" in message
    finished = [json.loads(line) for line in (output / PARTS_FILE).read_text(encoding="utf8").splitlines()]
    assert f"holds {len(finished)} finished parts" in message
    assert json.loads((output / "summary.json").read_text(encoding="utf8"))["status"] == "failed"
    done_docs = sum(part["docs"] for part in finished)
    assert 0 < len(finished) < 7

    summary = extract(model, corpus[0], output, part_size=3, batch_size=2)
    assert summary["this_run"]["parts_done_before"] == len(finished)
    assert summary["this_run"]["docs"] == 12 - done_docs  # finished parts were not redone
    assert tables(output) == tables(reference[0])  # nothing lost, nothing twice

    third = extract(model, corpus[0], output, part_size=3)
    assert third["this_run"]["docs"] == 0 and third["this_run"]["parts_written"] == 0
    assert third["total"] == summary["total"]


def test_unrecorded_part_files_are_removed(reference, corpus, model, tmp_path):
    output = tmp_path / "out"
    extract(model, corpus[0], output, part_size=3)
    lines = (output / PARTS_FILE).read_text(encoding="utf8").splitlines(keepends=True)
    # As if the run had stopped after writing the last part's files and before recording it.
    (output / PARTS_FILE).write_text("".join(lines[:-1]) + lines[-1][:10], encoding="utf8")
    stray = output / "entities" / "left-by-another-run-00000.parquet"
    stray.write_bytes(b"a part file that no manifest line records")
    summary = extract(model, corpus[0], output, part_size=3)
    assert summary["this_run"]["parts_written"] == 1
    assert not stray.exists()
    assert tables(output) == tables(reference[0])


def test_max_chars_refusal_is_counted(corpus, model, tmp_path):
    output = tmp_path / "short"
    summary = extract(model, corpus[0], output, max_chars=40, format="jsonl")
    long_ones = [r for r in read_table(output, "skipped") if r["reason"] == "too_long"]
    assert len(long_ones) == summary["total"]["skipped_by_reason"]["too_long"] > 0
    assert all("over --max-chars 40" in r["detail"] for r in long_ones)
    assert all(r["n_chars"] <= 40 for r in read_table(output, "docs"))
    assert summary["total"]["docs"] + summary["total"]["skipped"] == len(corpus[1])


def test_resume_refuses_other_settings_and_changed_input(corpus, model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Mary Jones lives in Paris .\nPaul lives in Berlin .\n", encoding="utf8")
    output = tmp_path / "out"
    extract(model, folder, output, part_size=1, format="jsonl")
    with pytest.raises(ExtractUsageError, match="max_chars: 100000 before, 50 now"):
        extract(model, folder, output, part_size=1, format="jsonl", max_chars=50)
    (folder / "a.txt").write_text("Mary Jones lives in Rome .\nPaul lives in Berlin .\n", encoding="utf8")
    with pytest.raises(ExtractionError, match="the input has changed since"):
        extract(model, folder, output, part_size=1, format="jsonl")
    not_ours = tmp_path / "full"
    not_ours.mkdir()
    (not_ours / "thesis.tex").write_text("x", encoding="utf8")
    with pytest.raises(ExtractUsageError, match="not empty"):
        extract(model, folder, not_ours)


def run_cli(*args, **kwargs):
    return CliRunner().invoke(app, ["extract", *map(str, args)], **kwargs)


def test_command_corpus_and_texts(model, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Mary Jones lives in Paris .\n\nPaul lives in Berlin .\n", encoding="utf8")
    result = run_cli(model, folder / "a.txt", tmp_path / "out", "--format", "jsonl", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "finished: 2 docs extracted" in result.output and "skipped 1: empty_text" in result.output
    assert [r["doc_id"] for r in read_table(tmp_path / "out", "docs")] == ["a.txt:1", "a.txt:3"]

    texts = run_cli(model, "Mary Jones lives in Paris .", "Paul lives in Berlin .")
    assert texts.exit_code == 0, texts.output
    lines = [json.loads(line) for line in texts.output.splitlines()]
    assert [line["text"] for line in lines] == ["Mary Jones lives in Paris .", "Paul lives in Berlin ."]
    assert {"Mary Jones", "Paris"} <= {e["text"] for e in lines[0]["entities"]}
    piped = run_cli(model, input="Paris is in France .\n")
    assert piped.exit_code == 0 and json.loads(piped.output)["text"] == "Paris is in France ."

    mixed = run_cli(model, "Not a file .", tmp_path / "out2", "--format", "jsonl")
    assert mixed.exit_code == 1 and "is not an existing file, folder or glob" in mixed.output


def test_engine_ray_without_ray_says_how_to_install(model, tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("Paris is in France .\n", encoding="utf8")
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    result = run_cli(model, tmp_path / "a.txt", tmp_path / "out", "--engine", "ray")
    assert result.exit_code == 1
    assert 'pip install "spacy-jere[ray]"' in result.output
    assert not (tmp_path / "out").exists()  # refused before anything was written
