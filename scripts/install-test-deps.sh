#!/usr/bin/env bash
# install-test-deps.sh installs the Debian packages the tests start for
# real: Prometheus and promtool, Alertmanager, and Django for the
# contrib/django package. It installs only what is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/ensure-debian-packages.sh" prometheus prometheus-alertmanager python3-django python3-django-axes \
  nginx haproxy gunicorn openssl chromium docker-compose
