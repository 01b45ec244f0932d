#!/usr/bin/env bash
# Install kubectl for the kk workshop on Linux or macOS (amd64, arm64), without sudo.
#
# Downloads kubectl and kubectl.sha256 from dl.k8s.io, verifies the checksum,
# and installs into ~/.local/bin (override: KK_BIN_DIR).  Skips everything when
# that kubectl is already the right version.  (`pip install kk-helpers` also
# brings kubectl into the virtualenv; this is for a kubectl outside it.)
#
#   KUBECTL_VERSION  release to install (default: v1.37.1, within one minor of the v1.37.0 nodes)
#   KK_BIN_DIR, KK_OS, KK_ARCH, KK_DOWNLOAD: see _common.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=_common.sh
. "$here/_common.sh"

version=${KUBECTL_VERSION:-v1.37.1}
bin_dir=${KK_BIN_DIR:-$HOME/.local/bin}
dest=$bin_dir/kubectl
os=$(kk_os)
arch=$(kk_arch)

if [ -x "$dest" ]; then
  have=$("$dest" version --client 2>/dev/null | awk '/^Client Version:/ {print $3}' || true)
  if [ "$have" = "$version" ]; then
    say "kubectl $version is already installed at $dest; nothing to do."
    path_hint "$bin_dir" kubectl
    exit 0
  fi
  say "replacing kubectl ${have:-(unknown version)} at $dest with $version"
fi

url=https://dl.k8s.io/release/$version/bin/$os/$arch/kubectl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kk-install-kubectl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

say "Downloading kubectl $version for $os/$arch"
say "  $url"
download "$tmp/kubectl" "$url"
download "$tmp/kubectl.sha256" "$url.sha256"
verify_sha256 "$tmp/kubectl" "$(awk '{print $1; exit}' "$tmp/kubectl.sha256")" "kubectl"
install_binary "$tmp/kubectl" "$dest"
say "Installed kubectl $version to $dest"
path_hint "$bin_dir" kubectl
