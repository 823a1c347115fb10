#!/usr/bin/env bash
# The main job: set up, then convert CoNLL04, train configs/fast.cfg with the bundled
# encoder on the CPU, evaluate on dev, and extract from example text.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
python -m spacy project run all . "$@"
