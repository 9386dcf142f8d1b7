#!/usr/bin/env bash
# ensure-debian-packages.sh PKG... installs the Debian packages that are not
# installed yet, without recommends. Tests and labs call it; nothing is
# installed by hand.
set -euo pipefail
missing=()
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# apt's lists may be missing on a new machine; refresh them at most once per run.
if [ -z "${SPRAYWATCH_APT_UPDATED:-}" ]; then
  $SUDO apt-get update -qq >/dev/null
  export SPRAYWATCH_APT_UPDATED=1
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}" >&2
