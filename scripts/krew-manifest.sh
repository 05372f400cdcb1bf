#!/usr/bin/env bash
# Writes krew-manifest.yaml for a release from its archives.
#
#   scripts/krew-manifest.sh v0.1.0 dist/
#
# dist/ holds kubectl-hpccache-<os>-<arch>.tar.gz (linux/darwin amd64+arm64) and
# kubectl-hpccache-windows-amd64.zip, each containing the binary and LICENSE. The sha256 of
# each archive is computed here, so the manifest always matches what was uploaded.
set -euo pipefail
version=${1:?usage: krew-manifest.sh vX.Y.Z DIST_DIR}
dist=${2:?usage: krew-manifest.sh vX.Y.Z DIST_DIR}
[[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "version must look like v1.2.3" >&2; exit 2; }
base="https://github.com/hpccache/hpccache/releases/download/$version"
out=$(dirname "$0")/../krew-manifest.yaml

platform() { # os arch ext bin
  local file="kubectl-hpccache-$1-$2.$3"
  [[ -f $dist/$file ]] || { echo "missing $dist/$file" >&2; exit 1; }
  local sum; sum=$(sha256sum "$dist/$file" | cut -d' ' -f1)
  cat <<YAML
  - selector:
      matchLabels:
        os: $1
        arch: $2
    uri: $base/$file
    sha256: $sum
    bin: $4
    files:
    - from: $4
      to: .
    - from: LICENSE
      to: .
YAML
}

{
  sed -n '1,/^  platforms:/p' "$out" | sed "s/^  version: .*/  version: $version/"
  platform linux amd64 tar.gz kubectl-hpccache
  platform linux arm64 tar.gz kubectl-hpccache
  platform darwin amd64 tar.gz kubectl-hpccache
  platform darwin arm64 tar.gz kubectl-hpccache
  platform windows amd64 zip kubectl-hpccache.exe
} > "$out.new"
mv "$out.new" "$out"
echo "wrote $out for $version"
