#!/usr/bin/env bash
# alertmanager-test.sh runs the alert sinks' tests against the real
# Alertmanager (Debian's prometheus-alertmanager), installing it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-debian-packages.sh prometheus-alertmanager
go test -race -count=1 -run 'Alertmanager' ./alert/ "$@"
