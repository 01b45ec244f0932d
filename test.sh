#!/usr/bin/env bash
# Sets everything up (a local .venv with kk and its test extras) and runs the whole test suite.
# Extra arguments go to pytest, e.g. ./test.sh -k kubectl -x
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
# An editable install compiles nothing; byte-compile kk now so every sandbox and notebook kernel loads it fast
# (it matters where PYTHONDONTWRITEBYTECODE is set: then nothing would ever be cached), and cache the client's
# model metadata the sandbox validates with (~0.5 s on a first start otherwise).
.venv/bin/python -m compileall -q kk_helpers >/dev/null && .venv/bin/python -c 'from kk_helpers.sandbox import openapi; openapi.warm_model_cache()'
# The browser test drives Debian's chromium (never a downloaded browser); install it when missing.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the browser test will be skipped" >&2
fi
exec .venv/bin/python -m pytest "$@"
