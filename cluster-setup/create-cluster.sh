#!/usr/bin/env bash
# Create (or reuse) the kk workshop kind cluster: a thin wrapper over `kk up --backend kind`.
# Extra arguments go to kk, e.g. `./create-cluster.sh --name kk2`.  Windows: run `kk up --backend kind`.
set -euo pipefail
command -v "${KK:-kk}" >/dev/null 2>&1 || {
  echo "error: the kk command is not on PATH; activate the workshop virtualenv (or pip install kk-helpers) first" >&2
  exit 1
}
exec "${KK:-kk}" up --backend kind "$@"
