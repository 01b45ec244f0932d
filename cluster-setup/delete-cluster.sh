#!/usr/bin/env bash
# Delete the kk workshop kind cluster (only if kk created it): a thin wrapper over `kk down --backend kind`.
# Extra arguments go to kk, e.g. `./delete-cluster.sh --name kk2`.  Windows: run `kk down --backend kind`.
set -euo pipefail
command -v "${KK:-kk}" >/dev/null 2>&1 || {
  echo "error: the kk command is not on PATH; activate the workshop virtualenv (or pip install kk-helpers) first" >&2
  exit 1
}
exec "${KK:-kk}" down --backend kind "$@"
