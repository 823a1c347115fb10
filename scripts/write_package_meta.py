"""Write the meta.json for `spacy package`, adding spacy-jere to the requirements so
that the built package installs it and `spacy.load(<package>)` finds our factory."""
import argparse
import json
from pathlib import Path

import spacy_jere


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", required=True)
    args = parser.parse_args()
    meta = json.loads((args.model / "meta.json").read_text())
    meta["name"] = args.name
    meta["version"] = args.version
    requirement = f"spacy-jere>={spacy_jere.__version__}"
    meta["requirements"] = [r for r in meta.get("requirements", []) if not r.startswith("spacy-jere")] + [requirement]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(meta, indent=2))
    print(f"{args.out}: {meta['lang']}_{meta['name']} {meta['version']}, requirements {meta['requirements']}")


if __name__ == "__main__":
    main()
