#!/usr/bin/env bash
# fuzz.sh runs every Fuzz* target in the module for BUDGET each (a go test
# -fuzztime value: 20s, 1m, 500x), one target at a time, and fails if any
# fuzzer finds an input that crashes or fails its checks. The failing input
# is left in the package's testdata/fuzz/<Target>/ by go test, where the
# seed corpus runs in every later `go test`.
#
#   scripts/fuzz.sh [BUDGET] [PACKAGE PATTERN...]   (default: 20s ./...)
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-20s}
shift || true
pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)

targets=()
while read -r pkg; do
  # go test -list prints the matching names, then "ok <pkg>".
  while read -r name; do
    case $name in Fuzz*) targets+=("$pkg $name") ;; esac
  done < <(go test -list '^Fuzz' "$pkg" 2>/dev/null || true)
done < <(go list "${pkgs[@]}")

if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no Fuzz targets found in ${pkgs[*]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, $budget each"

failed=()
for t in "${targets[@]}"; do
  pkg=${t% *}
  name=${t#* }
  echo "== $pkg $name"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" "$pkg"; then
    failed+=("$pkg $name")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets passed"
