# shellcheck shell=bash
# Shared by install-kind.sh and install-kubectl.sh; source it, do not run it.
#
# Environment:
#   KK_BIN_DIR   where to install (default: ~/.local/bin; must be writable, no sudo)
#   KK_OS        linux or darwin (default: from uname -s)
#   KK_ARCH      amd64 or arm64 (default: from uname -m)
#   KK_DOWNLOAD  a command run as `$KK_DOWNLOAD OUTPUT URL` instead of curl/wget

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

kk_os() {
  if [ -n "${KK_OS:-}" ]; then printf '%s\n' "$KK_OS"; return; fi
  case "$(uname -s)" in
    Linux) echo linux ;;
    Darwin) echo darwin ;;
    *) die "unsupported system $(uname -s): this script is for Linux and macOS (on Windows run \`winget install Kubernetes.kind\` and use \`kk\` directly)" ;;
  esac
}

kk_arch() {
  if [ -n "${KK_ARCH:-}" ]; then printf '%s\n' "$KK_ARCH"; return; fi
  case "$(uname -m)" in
    x86_64|amd64) echo amd64 ;;
    aarch64|arm64) echo arm64 ;;
    *) die "unsupported CPU $(uname -m): kind and kubectl are published for amd64 and arm64" ;;
  esac
}

# download OUTPUT URL
download() {
  out=$1 url=$2
  if [ -n "${KK_DOWNLOAD:-}" ]; then
    # shellcheck disable=SC2086 # KK_DOWNLOAD may carry its own arguments
    $KK_DOWNLOAD "$out" "$url"
  elif command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$out" "$url"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$out" "$url"
  else
    die "neither curl nor wget is installed"
  fi || die "download failed: $url"
}

# sha256_of FILE -> prints the hex digest
sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{print $1}'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{print $1}'
  else
    die "neither sha256sum nor shasum is installed, so the download cannot be verified"
  fi
}

# verify_sha256 FILE EXPECTED NAME -> exits non-zero when they differ
verify_sha256() {
  file=$1 expected=$(printf '%s' "$2" | tr 'A-F' 'a-f') name=$3
  case "$expected" in
    *[!0-9a-f]*|'') die "the published checksum for $name is not a sha256 ($2); nothing was installed" ;;
  esac
  [ "${#expected}" -eq 64 ] || die "the published checksum for $name is not a sha256 ($2); nothing was installed"
  actual=$(sha256_of "$file")
  if [ "$actual" != "$expected" ]; then
    die "checksum mismatch for $name: expected $expected, got $actual; the download was refused and nothing was installed"
  fi
  say "  sha256 verified: $actual"
}

# install_binary TMPFILE DEST
install_binary() {
  src=$1 dest=$2
  mkdir -p "$(dirname "$dest")" || die "cannot create $(dirname "$dest"); set KK_BIN_DIR to a directory you can write"
  # Copy next to the destination first, then rename: a half-written binary is never on PATH.
  cp "$src" "$dest.partial" || die "cannot write $dest; set KK_BIN_DIR to a directory you can write"
  chmod 0755 "$dest.partial"
  mv -f "$dest.partial" "$dest"
}

path_hint() {
  dir=$1 tool=$2
  case ":$PATH:" in
    *":$dir:"*)
      found=$(command -v "$tool" 2>/dev/null || true)
      if [ -n "$found" ] && [ "$found" != "$dir/$tool" ]; then
        say "note: another $tool comes first on PATH: $found"
      fi ;;
    *) say "note: $dir is not on PATH; add it, e.g. in ~/.bashrc or ~/.zshrc:"
       say "  export PATH=\"$dir:\$PATH\"" ;;
  esac
}
