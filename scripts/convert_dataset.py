"""Find a SpERT-format dataset (a local folder, else the project's assets) and convert
its train and dev splits. Usage: convert_dataset.py DATASET OUT_DIR [--local DIR]"""
import argparse
import sys
from pathlib import Path

from spacy_jere.convert import ConversionError, convert_file


def locate(dataset: str, local: Path) -> Path:
    for folder in (local / dataset, Path("assets") / dataset):
        if (folder / "train.json").exists() and (folder / "dev.json").exists():
            return folder
    sys.exit(
        f"No {dataset} data in {local / dataset} or assets/{dataset}: "
        "run `python -m spacy project assets` to fetch it from upstream."
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--local", type=Path, default=Path("../shared/datasets"))
    args = parser.parse_args()
    folder = locate(args.dataset, args.local)
    types = folder / "types.json"
    print(f"Reading {args.dataset} from {folder}")
    for split in ("train", "dev"):
        try:
            stats = convert_file(folder / f"{split}.json", args.out_dir / f"{split}.spacy",
                                 types_path=types if types.exists() else None)
        except ConversionError as err:
            sys.exit(str(err))
        merged = stats.merged_duplicate_relations
        print(f"  {split}: {stats.docs} docs, {stats.entities} entities, {stats.relations} relations"
              + (f" ({merged} duplicate relations merged)" if merged else ""))


if __name__ == "__main__":
    main()
