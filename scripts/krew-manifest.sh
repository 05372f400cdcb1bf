#!/usr/bin/env bash
# The krew plugin manifest of kubectl-hpccache, written from the release archives and checked
# against them.
#
#   scripts/krew-manifest.sh template vX.Y.Z
#       the manifest with every sha256 UNSET (the repository's krew-manifest.yaml until a
#       release exists: krew refuses it, tests/tests/it/krew_manifest.rs recognises it)
#   scripts/krew-manifest.sh write vX.Y.Z DIST_DIR [OS/ARCH ...]
#       the manifest of the archives in DIST_DIR (scripts/package.sh names), each sha256
#       computed here; every platform unless some are named (linux/amd64 ...)
#   scripts/krew-manifest.sh check MANIFEST DIST_DIR
#       for every platform of MANIFEST: its archive (the uri's file name) is in DIST_DIR, its
#       sha256 matches, and extracted it holds every file the manifest names, `bin` among
#       them (executable except on windows)
#
# Manifests go to stdout. The text above `platforms:` is krew-manifest.yaml's; the platform
# entries are written here, in the layout `check` reads.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
header=$here/../krew-manifest.yaml
all_platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64)
unset_sha=UNSET-written-at-release-by-scripts-krew-manifest.sh

die() { echo "krew-manifest.sh: $*" >&2; exit 1; }
usage() {
  sed -n '/^#   scripts/,/^#$/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

version_ok() {
  [[ $1 =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || die "version must look like v1.2.3, not '$1'"
}

sha256() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else # macOS
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

archive_name() { # os arch
  if [[ $1 == windows ]]; then echo "kubectl-hpccache-$1-$2.zip"; else echo "kubectl-hpccache-$1-$2.tar.gz"; fi
}

platform() { # version os arch sha256
  local bin=kubectl-hpccache completion=kubectl_complete-hpccache
  if [[ $2 == windows ]]; then
    bin=kubectl-hpccache.exe
    completion=kubectl_complete-hpccache.cmd
  fi
  cat <<YAML
  - selector:
      matchLabels:
        os: $2
        arch: $3
    uri: https://github.com/hpccache/hpccache/releases/download/$1/$(archive_name "$2" "$3")
    sha256: $4
    bin: $bin
    files:
    - from: $bin
      to: .
    - from: $completion
      to: .
    - from: LICENSE
      to: .
YAML
}

head_of_manifest() { # version [template]
  [[ -f $header ]] || die "$header is missing"
  if [[ ${2:-} != template ]]; then
    # The template's opening comment says it is one; a written manifest is not.
    echo "# krew plugin manifest of kubectl-hpccache $1, written by scripts/krew-manifest.sh from the release archives."
  fi
  sed -n '1,/^  platforms:/p' "$header" \
    | { if [[ ${2:-} == template ]]; then cat; else sed '/^#/d'; fi; } \
    | sed "s/^  version: .*/  version: $1/; s#/store/hpccache/v[^/]*/#/store/hpccache/$1/#"
}

cmd_template() {
  [[ $# -eq 1 ]] || usage
  version_ok "$1"
  head_of_manifest "$1" template
  for p in "${all_platforms[@]}"; do
    platform "$1" "${p%/*}" "${p#*/}" "$unset_sha"
  done
}

cmd_write() {
  [[ $# -ge 2 ]] || usage
  local version=$1 dist=$2
  shift 2
  version_ok "$version"
  [[ -d $dist ]] || die "$dist is not a directory"
  local platforms=("$@")
  [[ ${#platforms[@]} -gt 0 ]] || platforms=("${all_platforms[@]}")
  local p known out
  out=$(head_of_manifest "$version")$'\n'
  for p in "${platforms[@]}"; do
    known=no
    for k in "${all_platforms[@]}"; do [[ $k == "$p" ]] && known=yes; done
    [[ $known == yes ]] || die "unknown platform '$p' (one of: ${all_platforms[*]})"
    local file
    file=$dist/$(archive_name "${p%/*}" "${p#*/}")
    [[ -f $file ]] || die "missing $file (scripts/package.sh makes it)"
    out+=$(platform "$version" "${p%/*}" "${p#*/}" "$(sha256 "$file")")$'\n'
  done
  printf '%s' "$out"
}

# One line per platform of a manifest in the layout `platform` writes:
# os|arch|uri|sha256|bin|from,from,...
platforms_of() {
  awk '
    function flush() { if (os != "") print os "|" arch "|" uri "|" sha "|" bin "|" froms }
    /^  - selector:/   { flush(); os = arch = uri = sha = bin = froms = ""; next }
    /^        os: /    { os = $2 }
    /^        arch: /  { arch = $2 }
    /^    uri: /       { uri = $2 }
    /^    sha256: /    { sha = $2 }
    /^    bin: /       { bin = $2 }
    /^    - from: /    { froms = froms (froms == "" ? "" : ",") $3 }
    END { flush() }
  ' "$1"
}

cmd_check() {
  [[ $# -eq 2 ]] || usage
  local manifest=$1 dist=$2 failed=0 checked=0
  [[ -f $manifest ]] || die "$manifest does not exist"
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  while IFS='|' read -r os arch uri sha bin froms; do
    checked=$((checked + 1))
    local file=$dist/${uri##*/} what="$os/$arch (${uri##*/})"
    if [[ -z $os || -z $arch || -z $uri || -z $sha || -z $bin || -z $froms ]]; then
      echo "FAIL $what: os, arch, uri, sha256, bin and files are all required" >&2
      failed=1; continue
    fi
    if [[ ! -f $file ]]; then
      echo "FAIL $what: no archive $file to check" >&2
      failed=1; continue
    fi
    local actual
    actual=$(sha256 "$file")
    if [[ $actual != "$sha" ]]; then
      echo "FAIL $what: sha256 is $actual, the manifest says $sha" >&2
      failed=1; continue
    fi
    local into=$work/$os-$arch
    mkdir -p "$into"
    case $file in
      *.zip) unzip -q "$file" -d "$into" ;;
      *.tar.gz) tar -xzf "$file" -C "$into" ;;
      *) echo "FAIL $what: not a .tar.gz or .zip" >&2; failed=1; continue ;;
    esac
    local from ok=1 bin_shipped=0
    IFS=',' read -r -a list <<<"$froms"
    for from in "${list[@]}"; do
      if [[ ! -f $into/$from ]]; then
        echo "FAIL $what: files names $from, which the archive does not hold" >&2
        ok=0
      fi
      [[ $from == "$bin" ]] && bin_shipped=1
    done
    if [[ $bin_shipped == 0 ]]; then
      echo "FAIL $what: bin $bin is not among files" >&2
      ok=0
    elif [[ $os != windows && -f $into/$bin && ! -x $into/$bin ]]; then
      echo "FAIL $what: bin $bin is not executable in the archive" >&2
      ok=0
    fi
    if [[ $ok == 1 ]]; then
      echo "ok   $what: sha256 $sha, holds ${froms//,/, }"
    else
      failed=1
    fi
  done < <(platforms_of "$manifest")
  [[ $checked -gt 0 ]] || die "$manifest has no platform entries in the layout this script writes"
  return $failed
}

[[ $# -ge 1 ]] || usage
command=$1
shift
case $command in
  template) cmd_template "$@" ;;
  write) cmd_write "$@" ;;
  check) cmd_check "$@" ;;
  *) usage ;;
esac
