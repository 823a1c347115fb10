"""Shared by the tests/test_extract_*.py modules: a small trained pipeline, saved once per
test session, a corpus in the three input formats, and table helpers."""
import json
from pathlib import Path

import spacy

from spacy_jere.extraction import ExtractSettings, read_table, run_extraction

from .conftest import TRAIN_DATA, make_examples, train

_MODEL = {}

TEXTS = [words for words, _, _ in TRAIN_DATA] + [
    "Anna Lee works for Globex in Springfield .",
    "Tom Green lives in Dallas .",
    "Bob Stone moved to Paris in France .",
    "Peter Brown works for The University of Texas .",
]


def trained_model(tmp_path_factory) -> str:
    """A blank English pipeline with a sentencizer and span_relation (its default CNN
    tok2vec), trained a little on conftest's TRAIN_DATA and saved; built once."""
    if "path" not in _MODEL:
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        nlp.add_pipe("span_relation")
        train(nlp, make_examples(nlp), n_iter=30)
        path = tmp_path_factory.mktemp("extract_model") / "model"
        nlp.to_disk(path)
        _MODEL["path"] = str(path)
    return _MODEL["path"]


def write_corpus(folder: Path) -> dict:
    """A folder with a .txt, a .jsonl (ids on some records, an extra field, bad records)
    and a .parquet file. Returns {(source, line): doc_id or None (a bad record)}."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    txt = TEXTS[:5] + ["   "] + TEXTS[5:7]
    (folder / "plain.txt").write_text("\n".join(txt) + "\n", encoding="utf8")
    for line, text in enumerate(txt, start=1):
        expected[("plain.txt", line)] = f"plain.txt:{line}" if text.strip() else None
    (folder / "nested").mkdir(exist_ok=True)
    jsonl = [
        {"doc": "j-1", "body": TEXTS[7], "lang": "en"},
        {"body": TEXTS[8], "lang": "en"},
        "{not json",
        {"doc": "j-4", "lang": "en"},
        {"doc": "j-5", "body": 17},
        {"doc": 6, "body": TEXTS[9]},
    ]
    lines = [row if isinstance(row, str) else json.dumps(row) for row in jsonl]
    with open(folder / "nested" / "records.jsonl", "wb") as handle:
        handle.write("\n".join(lines).encode("utf8") + b"\n" + b"\xff\xfe broken\n")
    source = "nested/records.jsonl"
    for line, doc_id in enumerate(["j-1", f"{source}:2", None, None, None, "6", None], start=1):
        expected[(source, line)] = doc_id
    table = pa.table({"doc": ["p-1", None, "p-3"], "body": [TEXTS[10], TEXTS[11], ""], "year": [2001, 2002, 2003]})
    pq.write_table(table, folder / "table.parquet")
    for line, doc_id in enumerate(["p-1", "table.parquet:2", None], start=1):
        expected[("table.parquet", line)] = doc_id
    (folder / "notes.md").write_text("not an input format: ignored\n", encoding="utf8")
    return expected


def extract_settings(model: str, inputs, output: Path, **options) -> ExtractSettings:
    options.setdefault("progress", False)
    options.setdefault("text_field", "body")
    options.setdefault("id_field", "doc")
    inputs = [str(p) for p in inputs] if isinstance(inputs, (list, tuple)) else [str(inputs)]
    return ExtractSettings(model=model, inputs=inputs, output=Path(output), **options)


def extract(model: str, inputs, output: Path, **options) -> dict:
    return run_extraction(extract_settings(model, inputs, output, **options))


class Score(float):
    """A score equal to another within 1e-4: a doc's scores move in the last digits with
    the docs batched beside it (the transformer pads a batch to its longest text), and
    the engines batch differently."""

    def __eq__(self, other):
        return abs(self - other) <= 1e-4

    def __ne__(self, other):
        return not self == other

    __hash__ = float.__hash__


def tables(output: Path) -> dict:
    """Every table's rows as sorted tuples, for comparing two outputs."""
    result = {}
    for name in ("docs", "entities", "relations", "skipped"):
        rows = []
        for row in read_table(output, name):
            if row.get("score") is not None:
                row["score"] = Score(row["score"])
            rows.append(tuple(sorted(row.items())))
        result[name] = sorted(rows)
    return result
