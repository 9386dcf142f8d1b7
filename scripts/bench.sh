#!/usr/bin/env bash
# bench.sh prints spraywatch's performance figures (see BENCHMARKS.md):
#   1. per-format parse, join and window costs (go test -bench -benchmem);
#   2. end-to-end replay of a generated corpus (lines/s, peak RSS).
# BENCHTIME (go test -benchtime, default 1s), BENCH_SCALE (corpus size,
# default 540: about 5 M proxy + 1 M auth lines) and BENCH_DIR (where the
# corpus is cached, default out/corpus) tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${BENCHTIME:-1s}
scale=${BENCH_SCALE:-540}
dir=${BENCH_DIR:-out/corpus}
mkdir -p "$dir" bin

echo "== micro benchmarks (benchtime $benchtime)"
go test -run '^$' -bench . -benchmem -benchtime "$benchtime" ./ingest/... ./detect/... ./rules/... ./alert/... 2>&1 |
  grep -E '^(Benchmark|ok|FAIL|---)' || true

echo "== streaming through an in-process Kafka broker (kfake)"
go test -run '^$' -bench . -benchtime 1x ./serve/ 2>&1 | grep -E '^(Benchmark|ok|FAIL|---)' || true

echo "== end-to-end replay (corpus scale $scale)"
stamp="$dir/scale-$scale"
if [ ! -f "$stamp" ]; then
  rm -f "$dir"/scale-*
  go run ./samples/cmd/samplegen -scale "$scale" -proxy "$dir/nginx-access.log" -app "$dir/django-auth.log" -labels "$dir/campaigns.json"
  touch "$stamp"
fi
go build -o bin/spraywatch ./cmd/spraywatch
wc -l "$dir/nginx-access.log" "$dir/django-auth.log"
# CPU time (user + sys) is the figure to compare on a shared machine; wall
# time and lines/s depend on what else runs.
TIMEFORMAT='  cpu %U s user + %S s sys, wall %R s'
for run in 1 2 3; do
  time (bin/spraywatch replay --proxy "$dir/nginx-access.log" --app "$dir/django-auth.log" --out /dev/null 2>&1 | grep -E 'took|join:')
done
