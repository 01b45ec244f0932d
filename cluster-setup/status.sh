#!/usr/bin/env bash
# Say what runs where (sandbox, kind clusters): a thin wrapper over `kk status`.  Windows: run `kk status`.
set -euo pipefail
command -v "${KK:-kk}" >/dev/null 2>&1 || {
  echo "error: the kk command is not on PATH; activate the workshop virtualenv (or pip install kk-helpers) first" >&2
  exit 1
}
exec "${KK:-kk}" status "$@"
