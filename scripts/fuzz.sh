#!/usr/bin/env bash
# fuzz.sh runs every Fuzz* target in the module for BUDGET each (a go test
# -fuzztime value: 20s, 1m, 500x), one at a time, and fails if any
# fuzzer finds an input that crashes or fails its checks. The failing input
# is left in the package's testdata/fuzz/<Target>/ by go test, where the
# seed corpus runs in every later `go test`.
#
#   scripts/fuzz.sh [BUDGET] [PACKAGE PATTERN...]   (default: 20s ./...)
#   scripts/fuzz.sh --list [PACKAGE PATTERN...]     (the targets, one a line)
#
# The targets are the functions declared `func FuzzXxx(f *testing.F)` in
# the test files that go list gives each package (build constraints
# applied), found without compiling anything. --list prints them as
# "./dir FuzzXxx"; scripts/check-fuzz-targets.sh checks that they are all
# the Fuzz functions of the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
list=false
if [ "${1:-}" = --list ]; then
  list=true
  shift
else
  budget=${1:-20s}
  shift || true
fi
pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)

# A fuzz target's declaration; its name is the second word.
decl='^func[[:space:]]+Fuzz[A-Za-z0-9_]*[[:space:]]*\([[:space:]]*([A-Za-z_][A-Za-z0-9_]*[[:space:]]+)?\*testing\.F[[:space:]]*\)'
root=$(pwd)
files=$(go list -f '{{$d := .Dir}}{{range .TestGoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .XTestGoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}' "${pkgs[@]}")
targets=()
while read -r file; do
  [ -n "$file" ] || continue
  dir=$(dirname "$file")
  dir=.${dir#"$root"}
  while read -r name; do
    targets+=("$dir $name")
  done < <(grep -E "$decl" "$file" | sed -E 's/^func[[:space:]]+(Fuzz[A-Za-z0-9_]*).*/\1/')
done <<<"$files"

if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no Fuzz targets found in ${pkgs[*]}" >&2
  exit 1
fi
if $list; then
  printf '%s\n' "${targets[@]}"
  exit 0
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
