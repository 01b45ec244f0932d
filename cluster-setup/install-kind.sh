#!/usr/bin/env bash
# Install kind for the kk workshop on Linux or macOS (amd64, arm64), without sudo.
#
# Downloads kind-<os>-<arch> and its .sha256sum from the kind GitHub release,
# verifies the checksum, and installs into ~/.local/bin (override: KK_BIN_DIR).
# Skips everything when that kind is already the right version.
#
#   KIND_VERSION  release to install (default: v0.33.0, the one kk's config is written for)
#   KK_BIN_DIR, KK_OS, KK_ARCH, KK_DOWNLOAD: see _common.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=_common.sh
. "$here/_common.sh"

version=${KIND_VERSION:-v0.33.0}
bin_dir=${KK_BIN_DIR:-$HOME/.local/bin}
dest=$bin_dir/kind
os=$(kk_os)
arch=$(kk_arch)

if [ -x "$dest" ]; then
  have=$("$dest" version 2>/dev/null | awk '{print $2}' || true)
  if [ "$have" = "$version" ]; then
    say "kind $version is already installed at $dest; nothing to do."
    path_hint "$bin_dir" kind
    exit 0
  fi
  say "replacing kind ${have:-(unknown version)} at $dest with $version"
fi

asset=kind-$os-$arch
base=https://github.com/kubernetes-sigs/kind/releases/download/$version
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kk-install-kind.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

say "Downloading kind $version for $os/$arch"
say "  $base/$asset"
download "$tmp/$asset" "$base/$asset"
download "$tmp/$asset.sha256sum" "$base/$asset.sha256sum"
verify_sha256 "$tmp/$asset" "$(awk '{print $1; exit}' "$tmp/$asset.sha256sum")" "$asset"
install_binary "$tmp/$asset" "$dest"
say "Installed kind $version to $dest"
path_hint "$bin_dir" kind
