"""Train through `spacy train` on a small hand-written corpus, then reload the saved
pipeline in a fresh process that never imports spacy_jere."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training import Corpus

from .conftest import TRAIN_DATA, make_doc

ROOT = Path(__file__).parent.parent
TEXTS = [words for words, _, _ in TRAIN_DATA] + ["Tom Green lives in Dallas . Globex hired Anna Lee ."]

PREDICT_SCRIPT = """
import json, sys
import spacy
nlp = spacy.load(sys.argv[1])
out = []
for doc in nlp.pipe(json.loads(sys.argv[2])):
    out.append({
        "ents": [[s.start, s.end, s.label_] for s in doc.spans["entities"]],
        "rels": [[r.head.start, r.tail.start, r.label, round(r.score, 4)] for r in doc._.relations],
    })
print(json.dumps({"imported_before_load": False, "pred": out}))
"""


def predictions(nlp, texts):
    return [
        {
            "ents": [[s.start, s.end, s.label_] for s in doc.spans["entities"]],
            "rels": [[r.head.start, r.tail.start, r.label, round(r.score, 4)] for r in doc._.relations],
        }
        for doc in nlp.pipe(texts)
    ]


def write_corpus(path: Path) -> Path:
    vocab = spacy.blank("en").vocab
    docs = [make_doc(vocab, words, ents, rels) for words, ents, rels in TRAIN_DATA]
    DocBin(store_user_data=True, docs=docs).to_disk(path)
    return path


def spacy_train(config: str, corpus: Path, output: Path, *overrides: str) -> None:
    cmd = [sys.executable, "-m", "spacy", "train", str(ROOT / "configs" / config),
           "--output", str(output), "--paths.train", str(corpus), "--paths.dev", str(corpus),
           "--system.seed", "0", *overrides]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ENT_F" in result.stdout and "REL_STRICT_F" in result.stdout  # spacy train's table


def check_fresh_process(model_dir: Path, expected) -> None:
    result = subprocess.run([sys.executable, "-c", PREDICT_SCRIPT, str(model_dir), json.dumps(TEXTS)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1])["pred"] == expected


@pytest.fixture(scope="module")
def tok2vec_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tok2vec")
    corpus = write_corpus(tmp / "train.spacy")
    spacy_train("tok2vec.cfg", corpus, tmp / "out", "--training.max_epochs", "40",
                "--training.batcher.size", "2", "--training.eval_frequency", "100")
    return tmp / "out" / "model-last", corpus


def test_tok2vec_pipeline_learns_and_reloads(tok2vec_model):
    model_dir, corpus = tok2vec_model
    nlp = spacy.load(model_dir)
    scores = nlp.evaluate(list(Corpus(str(corpus))(nlp)))
    assert scores["ent_f"] > 0.9, scores["ent_f"]
    assert scores["rel_strict_f"] > 0.8, scores["rel_strict_f"]
    check_fresh_process(model_dir, predictions(nlp, TEXTS))


def test_evaluate_cli(tok2vec_model, tmp_path):
    model_dir, corpus = tok2vec_model
    out = tmp_path / "scores.json"
    command = [sys.executable, "-m", "spacy_jere", "evaluate", str(model_dir), str(corpus), "--output", str(out)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rel_strict" in result.stdout and "Work_For" in result.stdout
    scores = json.loads(out.read_text())
    assert 0.0 <= scores["rel_strict_f"] <= 1.0 and "ent_per_type" in scores
    result = subprocess.run([sys.executable, "-m", "spacy", "evaluate", str(model_dir), str(corpus)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_extract_cli(tok2vec_model):
    model_dir, _ = tok2vec_model
    result = subprocess.run([sys.executable, "-m", "spacy_jere", "extract", str(model_dir), TEXTS[0]],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["text"] == TEXTS[0] and isinstance(out["entities"], list) and isinstance(out["relations"], list)



def _evaluate(model_dir, docs, path):
    from typer.testing import CliRunner

    from spacy_jere.cli import app

    doc_bin = DocBin(store_user_data=True)
    for doc in docs:
        doc_bin.add(doc)
    doc_bin.to_disk(path)
    return CliRunner().invoke(app, ["evaluate", str(model_dir), str(path)])


def test_evaluate_on_data_without_gold_says_so(tok2vec_model, tmp_path):
    model_dir, _ = tok2vec_model
    vocab = spacy.blank("en").vocab
    unlabelled = [make_doc(vocab, words, [], []) for words, _, _ in TRAIN_DATA[:3]]
    result = _evaluate(model_dir, unlabelled, tmp_path / "plain.spacy")
    assert result.exit_code == 1
    assert "no gold entities" in result.output and "extract" in result.output
    entities_only = [make_doc(vocab, words, ents, []) for words, ents, _ in TRAIN_DATA[:3]]
    result = _evaluate(model_dir, entities_only, tmp_path / "ents.spacy")
    assert result.exit_code == 0, result.output
    assert "no gold relations" in result.output and "ent " in result.output
