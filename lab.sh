#!/usr/bin/env bash
# Sets everything up (a local .venv with kk), starts a cluster (kind when kind and Docker run, else the
# sandbox), and opens JupyterLab on labs/. Ctrl-C stops JupyterLab; the cluster keeps running (kk down stops it).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
# An editable install compiles nothing; byte-compile kk now so every sandbox and notebook kernel loads it fast
# (it matters where PYTHONDONTWRITEBYTECODE is set: then nothing would ever be cached), and cache the client's
# model metadata the sandbox validates with (~0.5 s on a first start otherwise).
.venv/bin/python -m compileall -q kk_helpers >/dev/null && .venv/bin/python -c 'from kk_helpers.sandbox import openapi; openapi.warm_model_cache()'
exec .venv/bin/kk lab "$@"
