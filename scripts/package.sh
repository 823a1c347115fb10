#!/usr/bin/env bash
# Build, in OUTPUT_DIR/dist, the two wheels a machine without this repo installs to run a
# trained pipeline: the pipeline package (made by `spacy package`) and the spacy-jere
# package it requires (spacy-jere is not on PyPI). Install both together:
#   pip install OUTPUT_DIR/dist/en_jere_conll04-0.1.0-py3-none-any.whl OUTPUT_DIR/dist/spacy_jere-*.whl
# Usage: bash scripts/package.sh MODEL_DIR OUTPUT_DIR --name NAME --version VERSION [write_package_meta.py options]
set -euo pipefail
if [ $# -lt 2 ] || [ ! -d "$1" ]; then
  echo "usage: bash scripts/package.sh MODEL_DIR OUTPUT_DIR --name NAME --version VERSION [--metrics FILE ...]" >&2
  [ $# -ge 1 ] && [ ! -d "$1" ] && echo "error: $1 is not a folder (a trained pipeline, e.g. model-last)" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
model="$1"
out="$2"
shift 2
python=${PYTHON:-python}
if ! "$python" -c "import spacy_jere" 2>/dev/null; then
  echo "error: '$python' ($(command -v "$python" || echo not found)) cannot import spacy_jere; activate the" \
       "project's environment (. .venv/bin/activate) or set PYTHON=.venv/bin/python" >&2
  exit 2
fi
mkdir -p "$out/dist"

"$python" "$root/scripts/write_package_meta.py" "$model" "$out/meta.json" "$@"
# spacy package makes OUTPUT_DIR/<lang>_<name>-<version>/ (its setup.py); pip builds the wheel.
"$python" -m spacy package "$model" "$out" --meta-path "$out/meta.json" --build none --force
package=$("$python" -c 'import json, sys
m = json.load(open(sys.argv[1]))
name = m["name"] if m["name"].startswith(m["lang"] + "_") else m["lang"] + "_" + m["name"]
print(name + "-" + m["version"])' "$out/meta.json")
rm -f "$out/dist/${package%%-*}"-*.whl "$out/dist"/spacy_jere-*.whl  # no stale versions beside the new ones
# pip builds in that folder: a build/ left by an earlier run could ship files of the old model
rm -rf "$out/$package/build"
"$python" -m pip wheel --no-deps -q "$out/$package" -w "$out/dist"

# spacy-jere from a clean copy of its sources: pip builds in the source tree, and a
# build/ folder left there could ship modules that no longer exist.
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
cp -r "$root/setup.py" "$root/pyproject.toml" "$root/README.md" "$root/spacy_jere" "$src/"
find "$src" -name __pycache__ -prune -exec rm -rf {} +
"$python" -m pip wheel --no-deps -q "$src" -w "$out/dist"
echo "Built in $out/dist:"
ls -1 "$out/dist/${package%%-*}"-*.whl "$out/dist"/spacy_jere-*.whl
