#!/usr/bin/env bash
# lab/run.sh (make lab): spraywatch against real nginx, HAProxy, Django and
# gunicorn on 127.0.0.1.
#
# Installs the Debian packages it needs when missing, creates a CA and
# client certificates, starts a Django site under gunicorn behind nginx and
# behind HAProxy (both terminating mutual TLS, with the configs shipped in
# deploy/), starts `spraywatch serve` following each proxy's log with
# Django's auth log, drives benign and attacking logins through both, stops
# the proxies, waits until serve has consumed the logs and stops it, replays
# the same logs through spraywatch and checks the alerts and the joins, and
# that serve's live alerts are replay's (lab/check). Ends with
# "lab: N passed, M failed"; exits non-zero when anything failed.
#
# Environment: LAB_TIMEOUT (seconds, default 600) bounds the whole run;
# LAB_KEEP=1 keeps the temporary directory; SPRAYWATCH_BIN uses that binary
# instead of building ./cmd/spraywatch.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${SPRAYWATCH_LAB_BOUNDED:-}" ]; then
  export SPRAYWATCH_LAB_BOUNDED=1
  # timeout sends TERM to this script, whose trap stops what it started.
  exec timeout -k 20 "${LAB_TIMEOUT:-600}" "$0" "$@"
fi

PY=/usr/bin/python3   # Debian's, with python3-django
export TZ=UTC LC_ALL=C.UTF-8 PYTHONDONTWRITEBYTECODE=1
start_s=$(date +%s)
step() { printf 'lab: [%3ss] %s\n' "$(($(date +%s) - start_s))" "$*" >&2; }

PIDS=()
LAB=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ -n "$LAB" ]; then
    if [ -n "${LAB_KEEP:-}" ] || [ $rc -ne 0 ]; then
      echo "lab: files kept in $LAB" >&2
    else
      rm -rf "$LAB"
    fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'echo "lab: interrupted" >&2; exit 124' INT TERM

# stop PID: TERM, wait for it, forget it.
stop() {
  local pid=$1 keep=() p
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# wait_port PORT PID NAME: until something accepts on 127.0.0.1:PORT.
wait_port() {
  for _ in $(seq 100); do
    if ! kill -0 "$2" 2>/dev/null; then
      echo "lab: $3 exited at start; its log:" >&2
      cat "$LAB/logs/$3".* >&2 2>/dev/null || true
      return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "lab: $3 is not listening on 127.0.0.1:$1" >&2
  return 1
}

# unsubstituted FILE...: prints the configuration lines (comments aside) that
# still name a system path or the shipped ports.
unsubstituted() {
  sed 's/#.*//' "$@" | grep '/etc/\|/var/log/\|:443\b\|:8000\b'
}

step "packages"
"$ROOT/scripts/ensure-debian-packages.sh" nginx haproxy python3-django gunicorn openssl

LAB=$(mktemp -d /tmp/spraywatch-lab.XXXXXX)
chmod 755 "$LAB"
mkdir -p "$LAB/bin" "$LAB/logs" "$LAB/out" "$LAB/nginx/tmp" "$LAB/haproxy"
chmod 777 "$LAB/nginx/tmp"

step "building spraywatch and the checker"
if [ -n "${SPRAYWATCH_BIN:-}" ]; then
  cp "$SPRAYWATCH_BIN" "$LAB/bin/spraywatch"
else
  (cd "$ROOT" && go build -o "$LAB/bin/spraywatch" ./cmd/spraywatch)
fi
(cd "$ROOT" && go build -o "$LAB/bin/labcheck" ./lab/check)

step "certificates"
"$ROOT/lab/certs.sh" "$LAB/certs"
cp "$LAB/certs/ca.crt" "$LAB/certs/client-ca.crt"

# Six free ports on 127.0.0.1: nginx, HAProxy, a gunicorn behind each, and
# the listener of the spraywatch serve following each.
read -r NGINX_PORT HAPROXY_PORT DJANGO_NGINX_PORT DJANGO_HAPROXY_PORT SERVE_NGINX_PORT SERVE_HAPROXY_PORT < <("$PY" -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

step "Django site (sqlite in $LAB)"
export PYTHONPATH="$ROOT/contrib/django:$ROOT/lab${PYTHONPATH:+:$PYTHONPATH}"
export DJANGO_SETTINGS_MODULE=labsite.settings LAB_DB="$LAB/lab.sqlite3"
"$PY" "$ROOT/lab/driver.py" users "$LAB/users.json"
LAB_AUTH_LOG=/dev/null "$PY" -m labsite.setup_db "$LAB/users.json"

start_gunicorn() { # NAME PORT
  : >"$LAB/logs/django-$1.jsonl"   # exists before serve follows it
  LAB_AUTH_LOG="$LAB/logs/django-$1.jsonl" /usr/bin/gunicorn --bind "127.0.0.1:$2" --workers 1 \
    --error-logfile "$LAB/logs/gunicorn-$1.log" labsite.wsgi:application \
    >"$LAB/logs/gunicorn-$1.out" 2>&1 &
  PIDS+=($!)
  wait_port "$2" $! "gunicorn-$1"
}
start_gunicorn nginx "$DJANGO_NGINX_PORT"
start_gunicorn haproxy "$DJANGO_HAPROXY_PORT"

step "nginx $(nginx -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$NGINX_PORT"
for f in spraywatch-mtls.conf log-format-mtls_combined.conf log-format-mtls_json.conf; do
  sed -e "s|/etc/nginx/spraywatch/log-format|$LAB/nginx/log-format|g" \
      -e "s|/etc/nginx/spraywatch/|$LAB/certs/|g" \
      -e "s|/var/log/nginx/|$LAB/logs/|g" \
      -e "s|listen 443 ssl;|listen 127.0.0.1:$NGINX_PORT ssl;|" \
      -e "s|server 127.0.0.1:8000;|server 127.0.0.1:$DJANGO_NGINX_PORT;|" \
      "$ROOT/deploy/nginx/$f" >"$LAB/nginx/$f"
done
cat >"$LAB/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $LAB/nginx/nginx.pid;
error_log $LAB/logs/nginx-error.log warn;
events { worker_connections 128; }
http {
    client_body_temp_path $LAB/nginx/tmp/body;
    proxy_temp_path       $LAB/nginx/tmp/proxy;
    fastcgi_temp_path     $LAB/nginx/tmp/fastcgi;
    uwsgi_temp_path       $LAB/nginx/tmp/uwsgi;
    scgi_temp_path        $LAB/nginx/tmp/scgi;
    access_log off;
    include $LAB/nginx/spraywatch-mtls.conf;
}
EOF
if unsubstituted "$LAB/nginx/"*.conf; then
  echo "lab: deploy/nginx changed: the substitutions above did not apply" >&2; exit 1
fi
nginx -e "$LAB/logs/nginx-error.log" -p "$LAB/nginx/" -c "$LAB/nginx/nginx.conf" \
  >"$LAB/logs/nginx.out" 2>&1 &
PIDS+=($!)
wait_port "$NGINX_PORT" $! nginx

step "HAProxy $(haproxy -v | sed -n '1s/HAProxy version \([^ ]*\).*/\1/p') on 127.0.0.1:$HAPROXY_PORT"
sed -e "s|/etc/haproxy/spraywatch/|$LAB/certs/|g" \
    -e "s|bind :443 |bind 127.0.0.1:$HAPROXY_PORT |" \
    -e "s|server django1 127.0.0.1:8000|server django1 127.0.0.1:$DJANGO_HAPROXY_PORT|" \
    "$ROOT/deploy/haproxy/haproxy.cfg" >"$LAB/haproxy/haproxy.cfg"
if unsubstituted "$LAB/haproxy/haproxy.cfg"; then
  echo "lab: deploy/haproxy changed: the substitutions above did not apply" >&2; exit 1
fi
# -db: foreground; "log stdout" lines go to the access log file.
haproxy -db -f "$LAB/haproxy/haproxy.cfg" -p "$LAB/haproxy/haproxy.pid" \
  >"$LAB/logs/haproxy.log" 2>"$LAB/logs/haproxy.err" &
PIDS+=($!)
wait_port "$HAPROXY_PORT" $! haproxy

# The processes writing logs; serve is stopped separately, after them.
WRITERS=("${PIDS[@]}")

# serve follows the logs live from here on, before any traffic.
declare -A SERVE_PID SERVE_ADDR
start_serve() { # NAME FORMAT DEFINITION PROXYLOG APPLOG PORT
  local dir="$LAB/serve/$1"
  mkdir -p "$dir"
  printf 'outputs:\n  - type: file\n    path: "%s"\n' "$LAB/out/$1.alerts.jsonl" >"$dir/outputs.yml"
  : >"$LAB/out/$1.alerts.jsonl"
  "$LAB/bin/spraywatch" serve --proxy-format "$2" --log-format "$3" \
    --proxy-file "$4" --app-file "$5" --state-dir "$dir/state" \
    --listen "127.0.0.1:$6" --outputs "$dir/outputs.yml" 2>"$LAB/out/$1.err" &
  PIDS+=($!)
  SERVE_PID[$1]=$!
  SERVE_ADDR[$1]="127.0.0.1:$6"
  printf '%s\n' "$4" >"$LAB/out/$1.proxylog"
  printf '%s\n' "$5" >"$LAB/out/$1.applog"
  if ! "$LAB/bin/labcheck" -wait-ready "127.0.0.1:$6" -timeout 30s; then
    sed 's/^/    /' "$LAB/out/$1.err" >&2
    return 1
  fi
}
step "spraywatch serve following the nginx text log (127.0.0.1:$SERVE_NGINX_PORT) and the HAProxy log (127.0.0.1:$SERVE_HAPROXY_PORT)"
start_serve nginx-text-live nginx "$LAB/nginx/log-format-mtls_combined.conf" \
  "$LAB/logs/mtls_combined.log" "$LAB/logs/django-nginx.jsonl" "$SERVE_NGINX_PORT"
start_serve haproxy-live haproxy "$(grep -m1 '^ *log-format' "$LAB/haproxy/haproxy.cfg")" \
  "$LAB/logs/haproxy.log" "$LAB/logs/django-haproxy.jsonl" "$SERVE_HAPROXY_PORT"

drive_rc=0
step "traffic through nginx"
"$PY" "$ROOT/lab/driver.py" run --name nginx --port "$NGINX_PORT" --direct-port "$DJANGO_NGINX_PORT" \
  --certs "$LAB/certs" --auth-log "$LAB/logs/django-nginx.jsonl" --manifest "$LAB/out/nginx.manifest.json" || drive_rc=1
step "traffic through HAProxy"
"$PY" "$ROOT/lab/driver.py" run --name haproxy --port "$HAPROXY_PORT" --direct-port "$DJANGO_HAPROXY_PORT" \
  --certs "$LAB/certs" --auth-log "$LAB/logs/django-haproxy.jsonl" --manifest "$LAB/out/haproxy.manifest.json" || drive_rc=1

step "stopping nginx, HAProxy and gunicorn (logs complete)"
for pid in "${WRITERS[@]}"; do stop "$pid"; done

# stop_serve NAME: wait (bounded) until serve has read every line of the
# logs it follows and released every record to its engine, keep its metrics
# and the alerts written so far, then SIGTERM it and keep its exit status.
stop_serve() {
  local pid=${SERVE_PID[$1]} rc=0
  "$LAB/bin/labcheck" -wait-consumed "${SERVE_ADDR[$1]}" -timeout "${LAB_SERVE_DEADLINE:-60s}" \
    -proxy-file "$(cat "$LAB/out/$1.proxylog")" -app-file "$(cat "$LAB/out/$1.applog")" \
    -metrics-out "$LAB/out/$1.metrics" 2>"$LAB/out/$1.wait.err" || rc=$?
  echo "$rc" >"$LAB/out/$1.wait"
  # What serve had written while running, to compare with what it leaves.
  cp "$LAB/out/$1.alerts.jsonl" "$LAB/out/$1.before-term.jsonl"
  rc=0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" || rc=$?
  echo "$rc" >"$LAB/out/$1.rc"
  local p keep=()
  for p in "${PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
  PIDS=("${keep[@]}")
}
step "waiting for spraywatch serve to consume the logs, then stopping it"
stop_serve nginx-text-live
stop_serve haproxy-live

step "replaying the logs through spraywatch"
# --check-all-lines: every value of every line the real proxies wrote is
# checked, not only those of the login lines.
replay() { # NAME FORMAT DEFINITION PROXYLOG APPLOG
  local rc=0
  "$LAB/bin/spraywatch" replay --check-all-lines --proxy-format "$2" --log-format "$3" --proxy "$4" --app "$5" \
    --out "$LAB/out/$1.alerts.jsonl" 2>"$LAB/out/$1.summary" || rc=$?
  echo "$rc" >"$LAB/out/$1.rc"
  printf '%s\n' "$4" >"$LAB/out/$1.proxylog"
  printf '%s\n' "$5" >"$LAB/out/$1.applog"
  sed 's/^/    /' "$LAB/out/$1.summary" >&2
}
replay nginx-text nginx "$LAB/nginx/log-format-mtls_combined.conf" \
  "$LAB/logs/mtls_combined.log" "$LAB/logs/django-nginx.jsonl"
replay nginx-json nginx "$LAB/nginx/log-format-mtls_json.conf" \
  "$LAB/logs/mtls.json" "$LAB/logs/django-nginx.jsonl"
replay haproxy haproxy "$(grep -m1 '^ *log-format' "$LAB/haproxy/haproxy.cfg")" \
  "$LAB/logs/haproxy.log" "$LAB/logs/django-haproxy.jsonl"

step "checking"
check_rc=0
"$LAB/bin/labcheck" -dir "$LAB" -runs nginx-text:nginx,nginx-json:nginx,haproxy:haproxy -driver-ok=$((1 - drive_rc)) \
  -live nginx-text-live:nginx-text:nginx,haproxy-live:haproxy:haproxy || check_rc=$?
step "done"
exit $check_rc
