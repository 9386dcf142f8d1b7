#!/usr/bin/env bash
# django-versions.sh runs contrib/django's tests against the Django LTS
# releases newer than the 3.2 that Debian 12 installs: 4.2 (Debian 13,
# trixie) and 5.2 (Debian forky). django-axes is the system's 5.39, the
# version those suites ship too, so each release runs with and without it.
#
# Nothing is installed system-wide: the pinned .deb files below are fetched
# from the Debian mirror, checked against their SHA-256 (as the suites'
# Packages indexes list them), unpacked with dpkg-deb under .cache/django/
# and put first on PYTHONPATH. When Debian replaces one of them (a security
# update), the fetch fails with the file's name: pin the suite's new
# Filename and SHA256 from its Packages index.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache/django"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# Django 4.2 and 5.2 both take trixie's asgiref (3.8) and sqlparse (0.5).
deps=(
  "pool/main/p/python-asgiref/python3-asgiref_3.8.1-1_all.deb 2d5eb99f6a6703298c35054a12a92828b89f2c23aafc424f1f63e880b963951a"
  "pool/main/s/sqlparse/python3-sqlparse_0.5.3-1_all.deb ce33abc379c31ff56ebffa73d024c893263e7fe7d13d50c82d47596217912828"
)
django42="pool/main/p/python-django/python3-django_4.2.28-0+deb13u2_all.deb 909e3a132b71de394806a0563f2297e0618b7b7cc8e7acee39da629b285c01e8"
django52="pool/main/p/python-django/python3-django_5.2.17-2_all.deb 067a2c848db4975f0dea821fc23df8cdfeb8ff7de9ec3dbcadcec204d007919e"

fail() {
  echo "django-versions: $*" >&2
  exit 1
}

# unpack "FILE SHA256" DEST fetches a .deb once, checks it and unpacks it.
unpack() {
  local file sum deb
  read -r file sum <<<"$1"
  deb="$cache/debs/$(basename "$file")"
  mkdir -p "$cache/debs"
  if [ ! -s "$deb" ]; then
    curl -fsS -m 300 -o "$deb.part" "$mirror/$file" || fail "fetching $mirror/$file"
    mv "$deb.part" "$deb"
  fi
  if ! echo "$sum  $deb" | sha256sum -c --quiet - >/dev/null 2>&1; then
    rm -f "$deb"
    fail "$(basename "$file") does not have the pinned SHA-256"
  fi
  dpkg-deb -x "$deb" "$2"
}

# run NAME "FILE SHA256" runs the tests against one Django package.
run() {
  local dest="$cache/$1" dep
  rm -rf "$dest"
  mkdir -p "$dest"
  unpack "$2" "$dest"
  for dep in "${deps[@]}"; do
    unpack "$dep" "$dest"
  done
  local got
  got=$(PYTHONPATH="$dest/usr/lib/python3/dist-packages" /usr/bin/python3 -c 'import django; print(django.get_version())')
  [ "${got%.*}" = "${1#django-}" ] || fail "$1: Python imported Django $got"
  PYTHONPATH="$dest/usr/lib/python3/dist-packages" /usr/bin/python3 "$root/contrib/django/runtests.py"
}

run django-4.2 "$django42"
run django-5.2 "$django52"
