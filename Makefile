# spraywatch — common tasks. `make test` is what CI runs.
GO        ?= go
BENCHTIME ?= 1x
FUZZTIME  ?= 20s

.PHONY: all build test test-go test-django deps vet dashboards samples replay-samples bench fuzz fuzz-targets eval lab clean

all: build

build:
	$(GO) build -o bin/spraywatch ./cmd/spraywatch

# Everything CI checks: installs what the tests need, then vet, that
# `make fuzz` runs every Fuzz function, Go tests (with the race detector),
# the Django package's tests and the lab with real nginx, HAProxy and
# Django.
test: deps vet fuzz-targets dashboards test-go test-django lab

deps:
	scripts/install-test-deps.sh

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Grafana's own dashboard type (npm's @grafana/schema) checks the dashboard
# JSON with tsc; metrics/dashboard_test.go runs its queries on Prometheus.
dashboards:
	scripts/check-dashboards.sh

test-go:
	$(GO) test -race -timeout 15m ./...

# The Django package's tests on Debian's Django (3.2), then on Django 4.2
# and 5.2 unpacked from pinned Debian packages (scripts/django-versions.sh).
test-django:
	/usr/bin/python3 contrib/django/runtests.py
	scripts/django-versions.sh

# Replays the bundled sample day and prints its alerts.
replay-samples:
	$(GO) run ./cmd/spraywatch replay --proxy samples/data/nginx-access.log --app samples/data/django-auth.log

samples:
	$(GO) run ./samples/cmd/samplegen

# Benchmarks: parse, join and window costs per line/event and the
# end-to-end replay of a generated corpus. Figures go in BENCHMARKS.md.
bench:
	scripts/bench.sh

# Detection quality: replays labelled corpora (several seeds) with the
# default pack; prints detection and delay per campaign, false alerts.
eval:
	$(GO) run ./cmd/spraywatch eval -seeds 5

fuzz:
	scripts/fuzz.sh $(FUZZTIME)

# Fails when a Fuzz function is not one `make fuzz` runs; compiles nothing.
fuzz-targets:
	scripts/check-fuzz-targets.sh

# Real nginx, HAProxy, Django and gunicorn on 127.0.0.1 with mTLS: drives
# benign and spraying logins, replays both proxies' logs, checks the alerts
# and joins (docs/lab.md). Bounded by LAB_TIMEOUT (default 600 s).
lab:
	lab/run.sh

clean:
	rm -rf bin out
