"""Extraction inputs and parts, without a pipeline: the three formats, folders and globs,
bad records with file and line, stable ids, parts, fingerprints and --max-chars."""
import json

import pytest

from spacy_jere.extraction.inputs import (
    Fields,
    InputError,
    Record,
    Skipped,
    count_entries,
    read_entries,
    resolve_inputs,
)
from spacy_jere.extraction.parts import InputChanged, PartPlan, iter_parts, pending_parts

from .extract_support import write_corpus


def entries_of(path, fields=None):
    (file,) = resolve_inputs([str(path)])
    return file, list(read_entries(file, fields or Fields()))


def test_txt_one_document_a_line_with_generated_ids(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfFirst doc .\r\nSecond doc .\n\n  \nbad \xff byte\nlast, no newline")
    file, entries = entries_of(path)
    assert file.source == "a.txt"
    assert [(e.line, type(e).__name__) for e in entries] == [
        (1, "Record"), (2, "Record"), (3, "Skipped"), (4, "Skipped"), (5, "Skipped"), (6, "Record")]
    assert [e.text for e in entries if isinstance(e, Record)] == ["First doc .", "Second doc .", "last, no newline"]
    assert [e.doc_id for e in entries] == [f"a.txt:{n}" for n in range(1, 7)]
    assert [e.reason for e in entries if isinstance(e, Skipped)] == ["empty_text", "empty_text", "undecodable"]
    assert "byte 4" in entries[4].detail
    assert count_entries(file) == len(entries) == 6


def test_jsonl_fields_ids_meta_and_bad_records(tmp_path):
    path = tmp_path / "r.jsonl"
    rows = [
        json.dumps({"key": "k1", "content": "A text .", "lang": "en", "n": 3}),
        json.dumps({"content": "No id here ."}),
        "{broken",
        json.dumps({"key": "k4", "text": "wrong field name"}),
        json.dumps({"key": "k5", "content": ["not", "a", "string"]}),
        json.dumps({"key": "k6", "content": " \t"}),
        json.dumps(["a", "list"]),
        json.dumps({"key": {"a": 1}, "content": "An id that is an object ."}),
        json.dumps({"key": 7, "content": None}),
        json.dumps({"key": 8, "content": "Integer id ."}),
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf8")
    file, entries = entries_of(path, Fields(text="content", id="key"))
    records = {e.line: e for e in entries if isinstance(e, Record)}
    skipped = {e.line: e.reason for e in entries if isinstance(e, Skipped)}
    assert sorted(records) == [1, 2, 10]
    assert records[1].doc_id == "k1" and json.loads(records[1].meta) == {"lang": "en", "n": 3}
    assert records[2].doc_id == "r.jsonl:2" and records[2].meta == "{}"
    assert records[10].doc_id == "8"
    assert skipped == {3: "not_json", 4: "no_text_field", 5: "text_not_string", 6: "empty_text", 7: "not_object",
                       8: "bad_id", 9: "text_not_string"}
    assert "'content'" in next(e.detail for e in entries if e.line == 4)
    assert count_entries(file) == len(entries) == 10


def test_parquet_rows(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'spacy-jere[parquet]')")
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": ["x", None, "z"], "text": ["One .", "Two .", None], "score": [1.5, 2.5, 3.5]}),
                   path)
    file, entries = entries_of(path)
    assert [(e.line, e.doc_id) for e in entries] == [(1, "x"), (2, "t.parquet:2"), (3, "z")]
    assert isinstance(entries[2], Skipped) and entries[2].reason == "text_not_string"
    assert json.loads(entries[0].meta) == {"score": 1.5}
    assert count_entries(file) == 3


def test_folder_and_glob_sources(tmp_path):
    pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'spacy-jere[parquet]')")
    corpus = tmp_path / "corpus"
    write_corpus(corpus)
    (corpus / ".hidden.txt").write_text("hidden\n", encoding="utf8")
    out = corpus / "out"  # OUTPUT inside INPUT: its files are never read as input
    (out / "docs").mkdir(parents=True)
    (out / "docs" / "part.jsonl").write_text("{}\n", encoding="utf8")
    folder = [f.source for f in resolve_inputs([str(corpus)], exclude=out)]
    assert folder == ["nested/records.jsonl", "plain.txt", "table.parquet"]
    globbed = [f.source for f in resolve_inputs([str(corpus / "**" / "*.jsonl")], exclude=out)]
    assert globbed == ["nested/records.jsonl"]
    # Files named one by one (as a shell expands a glob): sources relative to their common folder.
    files = [str(corpus / "plain.txt"), str(corpus / "nested" / "records.jsonl")]
    assert [f.source for f in resolve_inputs(files)] == ["nested/records.jsonl", "plain.txt"]


@pytest.mark.parametrize("spec, message", [
    ("missing.txt", "no such file or folder"),
    ("notes.md", "unknown input format"),
    ("empty_folder", "no .txt, .jsonl or .parquet file"),
    ("*.nothing", "no .txt, .jsonl or .parquet file"),
])
def test_bad_input_specs(tmp_path, monkeypatch, spec, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.md").write_text("x", encoding="utf8")
    (tmp_path / "empty_folder").mkdir()
    with pytest.raises(InputError, match=message):
        resolve_inputs([spec])


def test_parts_are_stable_and_refuse_long_documents(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("\n".join(["short ."] * 5 + ["x" * 50] + ["short ."] * 3) + "\n", encoding="utf8")
    (file,) = resolve_inputs([str(path)])
    plan = PartPlan(part_size=4, max_chars=20)
    parts = list(iter_parts(file, plan))
    assert [len(p.entries) for p in parts] == [4, 4, 1]
    assert [p.name for p in parts] == [p.name for p in iter_parts(file, plan)]
    assert len({p.name for p in parts}) == 3
    refused = [e for p in parts for e in p.entries if isinstance(e, Skipped)]
    assert [(e.line, e.reason, e.doc_id) for e in refused] == [(6, "too_long", "a.txt:6")]
    assert "50 characters" in refused[0].detail
    assert sum(len(p.records) for p in parts) == 8  # nothing cut: the long one is refused whole

    done = {parts[0].name: parts[0].fingerprint, parts[2].name: parts[2].fingerprint}
    assert [p.index for p in pending_parts(file, plan, done)] == [1]
    path.write_text("changed .\n" + path.read_text(encoding="utf8"), encoding="utf8")
    with pytest.raises(InputChanged, match="changed since"):
        list(pending_parts(file, plan, done))
