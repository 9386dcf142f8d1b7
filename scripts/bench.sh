#!/usr/bin/env bash
# bench.sh prints spraywatch's performance figures (see BENCHMARKS.md):
#   1. per-format parse, join and window costs (go test -bench -benchmem);
#   2. end-to-end replay of a generated corpus (lines/s, peak RSS).
#   3. the issue's targets: the corpus's lines/s and peak RSS, and the
#      adversarial inputs' speed against corpus runs alternated with them.
# BENCHTIME (go test -benchtime, default 1s), BENCH_SCALE (corpus size,
# default 540: about 5 M proxy + 1 M auth lines), BENCH_DIR (where the
# corpus is cached, default out/corpus) and BENCH_PAIRS (corpus and
# adversarial runs alternated in step 3, default 3) tune it.
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

# The targets (BENCHMARKS.md): replay >= 4 M lines/s, and each adversarial
# input at >= 50% of the corpus's lines per CPU-second. CPU time is what
# compares on a shared machine; each adversarial run is set beside the
# corpus run just before it, since the host's speed drifts between runs.
echo "== targets: the corpus and the adversarial inputs (hostile/, full size), alternated in ${BENCH_PAIRS:-3} pairs"
go test -c -o bin/hostile.test ./hostile
lines=$(cat "$dir/nginx-access.log" "$dir/django-auth.log" | wc -l)
corpus() {
  # prints: cpu_seconds wall_seconds peak_rss_mb
  local TIMEFORMAT='%3U %3S'
  local t sum
  { t=$( { time bin/spraywatch replay --proxy "$dir/nginx-access.log" --app "$dir/django-auth.log" --out /dev/null 2>"$dir/summary.txt" >/dev/null; } 2>&1 ); } || return 1
  sum=$(grep -E '^ *took' "$dir/summary.txt")
  awk -v t="$t" -v s="$sum" 'BEGIN { split(t, c, " "); n = split(s, w, "[ ,s]+");
    wall = ""; rss = ""
    for (i = 1; i <= n; i++) { if (w[i] == "took") wall = w[i+1]; if (w[i] == "RSS") rss = w[i+1] }
    printf "%.3f %s %s\n", c[1] + c[2], wall, rss }'
}
adversarial() {
  # prints: cpu_seconds lines peak_rss_mb for hostile case $1
  (cd hostile && HOSTILE_FULL=1 ../bin/hostile.test -test.run "^$1\$" -test.v 2>&1) |
    sed -n 's/.*figures: map\[\(.*\)\]/\1/p' | tr ' ' '\n' |
    awk -F: '{ f[$1] = $2 } END { if (!("cpu_ms" in f)) exit 1; printf "%.3f %d %.0f\n", f["cpu_ms"] / 1000, f["lines"], f["vmhwm_kb"] / 1024 }'
}
for c in TestManyIdentities TestManyUsernamesOneIdentity TestUnmatchedRequestIDs; do
  ratios=()
  for run in $(seq "${BENCH_PAIRS:-3}"); do
    read -r ccpu cwall crss < <(corpus)
    read -r acpu alines arss < <(adversarial "$c")
    r=$(awk -v a="$alines" -v ac="$acpu" -v l="$lines" -v cc="$ccpu" 'BEGIN { printf "%.0f", 100 * (a / ac) / (l / cc) }')
    ratios+=("$r")
    awk -v l="$lines" -v cc="$ccpu" -v cw="$cwall" -v cr="$crss" -v a="$alines" -v ac="$acpu" -v ar="$arss" -v r="$r" -v c="$c" 'BEGIN {
      printf "  corpus %.2f M lines/s (wall %.2f s; %.2f M lines per CPU-s; RSS %s MB) | %s %.2f M lines per CPU-s (RSS %s MB): %s%%\n",
        l / cw / 1e6, cw, l / cc / 1e6, cr, c, a / ac / 1e6, ar, r }'
  done
  printf '  %s: median %s%% of the corpus (target >= 50%%)\n' "$c" "$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
done
echo "  target: corpus >= 4.00 M lines/s; 30 M lines (BENCH_SCALE=2800) in <= 300 MB of RSS"
