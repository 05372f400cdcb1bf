#!/usr/bin/env bash
# The release, here and for this machine's platform only: builds kubectl-hpccache
# (`cargo build --release`), packs the linux-amd64 archive as the release does, writes a krew
# manifest for it with its real sha256 and checks the manifest against the archive.
#
#   scripts/release-local.sh [OUT_DIR]        (default target/release-local)
#
# The release workflow (.github/workflows/release.yml) does the same for every platform.
# One difference: it builds the Linux binaries for the musl targets (static, so they run on
# any distribution); this builds for the host's default target.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/target/release-local}
[[ $(uname -s) == Linux && $(uname -m) == x86_64 ]] \
  || { echo "release-local.sh packs linux-amd64 and must run on Linux x86_64" >&2; exit 1; }
version=v$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)

started=$(date +%s)
(cd "$root" && cargo build --release --locked -p kubectl-hpccache)
built=$(date +%s)
rm -rf "$out"
mkdir -p "$out"
archive=$("$root/scripts/package.sh" kubectl-hpccache linux amd64 "$root/target/release" "$out")
"$root/scripts/krew-manifest.sh" write "$version" "$out" linux/amd64 > "$out/krew-manifest.yaml"
"$root/scripts/krew-manifest.sh" check "$out/krew-manifest.yaml" "$out"
(cd "$out" && sha256sum "$(basename "$archive")" > SHA256SUMS)
finished=$(date +%s)
echo "archive:  $archive"
echo "manifest: $out/krew-manifest.yaml ($version, linux/amd64)"
echo "time:     $((finished - started)) s ($((built - started)) s cargo build --release)"
