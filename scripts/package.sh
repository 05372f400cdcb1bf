#!/usr/bin/env bash
# Packs one release archive: the binary, LICENSE and, for the kubectl plugin, its shell
# completion helper (kubectl_complete-hpccache; .cmd on Windows), at the archive's root.
#
#   scripts/package.sh BINARY OS ARCH BUILD_DIR OUT_DIR
#   scripts/package.sh kubectl-hpccache linux amd64 target/release dist
#
# Writes OUT_DIR/BINARY-OS-ARCH.tar.gz (.zip for windows) and prints its path. BUILD_DIR holds
# the built BINARY (BINARY.exe for windows). The release workflow and scripts/release-local.sh
# both pack through here, so the archives krew-manifest.sh describes have one layout.
set -euo pipefail
usage="usage: package.sh kubectl-hpccache|az-hpccache-ext linux|darwin|windows amd64|arm64 BUILD_DIR OUT_DIR"
[[ $# -eq 5 ]] || { echo "$usage" >&2; exit 2; }
bin=$1 os=$2 arch=$3 build=$4 out=$5
case $bin in kubectl-hpccache|az-hpccache-ext) ;; *) echo "$usage" >&2; exit 2 ;; esac
case $os in linux|darwin|windows) ;; *) echo "$usage" >&2; exit 2 ;; esac
case $arch in amd64|arm64) ;; *) echo "$usage" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)

exe=$bin
completion=kubectl_complete-hpccache
if [[ $os == windows ]]; then
  exe=$bin.exe
  completion=kubectl_complete-hpccache.cmd
fi
[[ -f $build/$exe ]] || { echo "package.sh: $build/$exe is not built" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$build/$exe" "$stage/"
cp "$root/LICENSE" "$stage/"
chmod 0755 "$stage/$exe"
if [[ $bin == kubectl-hpccache ]]; then
  cp "$root/kubectl-hpccache/completion/$completion" "$stage/"
  # kubectl runs it from PATH: executable, whatever the checkout's modes.
  [[ $os == windows ]] || chmod 0755 "$stage/$completion"
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
name=$bin-$os-$arch
if [[ $os == windows ]]; then
  archive=$out/$name.zip
  rm -f "$archive"
  if command -v zip >/dev/null; then
    (cd "$stage" && zip -q -X "$archive" ./*)
  else # Windows runners have 7-Zip, not zip
    (cd "$stage" && 7z a -tzip -bso0 "$archive" ./* >/dev/null)
  fi
else
  archive=$out/$name.tar.gz
  # No builder's user in the archive (GNU tar; macOS's bsdtar has no such flags).
  flags=()
  if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    flags=(--owner=0 --group=0 --numeric-owner)
  fi
  (cd "$stage" && tar ${flags[@]+"${flags[@]}"} -czf "$archive" $(ls | LC_ALL=C sort))
fi
echo "$archive"
