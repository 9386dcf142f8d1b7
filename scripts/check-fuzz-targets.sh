#!/usr/bin/env bash
# check-fuzz-targets.sh fails when a Fuzz function of the repository is
# not one `make fuzz` runs (scripts/fuzz.sh --list): one in a file go list
# leaves out of its package (a build constraint, a directory go ignores
# such as testdata/ or _x/, another module), or declared in a way the
# script does not recognise. It compiles nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every function whose name starts with Fuzz and that takes a *testing.F,
# in the test files tracked or not yet added (but not ignored).
declared=$(git ls-files --cached --others --exclude-standard -- '*_test.go' |
  xargs -r grep -HE '^func[[:space:]]+Fuzz[A-Za-z0-9_]*[[:space:]]*\(.*testing\.F' |
  sed -E 's|^(.*)/[^/]*_test\.go:func[[:space:]]+(Fuzz[A-Za-z0-9_]*).*|./\1 \2|; s|^[^.][^/]*_test\.go:func[[:space:]]+(Fuzz[A-Za-z0-9_]*).*|. \1|' |
  sort -u)
listed=$(scripts/fuzz.sh --list | sort -u)

missing=$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$listed"))
if [ -n "$missing" ]; then
  echo "check-fuzz-targets: Fuzz functions that scripts/fuzz.sh does not run:" >&2
  sed 's/^/  /' <<<"$missing" >&2
  echo "Declare them as func FuzzXxx(f *testing.F) in a test file go list gives its package (no build constraint, no ignored directory)." >&2
  exit 1
fi
echo "check-fuzz-targets: scripts/fuzz.sh runs all $(printf '%s\n' "$listed" | wc -l) Fuzz functions"
