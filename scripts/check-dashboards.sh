#!/usr/bin/env bash
# check-dashboards.sh type-checks every Grafana dashboard in
# deploy/grafana/dashboards/ against Grafana's own dashboard type
# (Dashboard from npm's @grafana/schema) with tsc: each JSON file becomes the
# initializer of a `const dashboard: Dashboard`, so a missing required
# field, a wrong type or an unknown value of a closed set fails, with the
# JSON file's line. Versions are pinned in
# deploy/grafana/schemacheck/package-lock.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/deploy/grafana/schemacheck"
command -v npm >/dev/null || "$root/scripts/ensure-debian-packages.sh" nodejs npm
if [ ! -x "$dir/node_modules/.bin/tsc" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
  (cd "$dir" && npm ci --no-audit --no-fund --silent)
fi
rm -rf "$dir/gen"
mkdir -p "$dir/gen"
n=0
for f in "$root"/deploy/grafana/dashboards/*.json; do
  # The prefix goes on the JSON's first line, so tsc's line numbers are the file's.
  {
    printf "import type { Dashboard } from '@grafana/schema'; export const dashboard: Dashboard = "
    cat "$f"
    printf ";\n"
  } >"$dir/gen/$(basename "$f" .json).ts"
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "check-dashboards: no dashboards in deploy/grafana/dashboards" >&2; exit 1; }
(cd "$dir" && node_modules/.bin/tsc -p tsconfig.json) | sed 's#^gen/\([^(]*\)\.ts#deploy/grafana/dashboards/\1.json#'
echo "dashboards: $n checked against @grafana/schema $(node -p "require('$dir/node_modules/@grafana/schema/package.json').version")"
