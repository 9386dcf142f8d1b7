#!/usr/bin/env bash
# prometheus-test.sh checks the monitoring against the real Prometheus
# (Debian's prometheus, with promtool), installing it when missing: the
# shipped configuration and rules (promtool check/test), every dashboard
# and rule query against a Prometheus scraping a replay, the dashboard's
# structure and the bounded top-identities gauge.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-debian-packages.sh prometheus
go test -race -count=1 ./metrics/ "$@"
