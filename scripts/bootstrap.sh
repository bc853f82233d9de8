#!/usr/bin/env bash
# Set up everything GridWatch needs on a Debian/Ubuntu machine, from nothing, idempotently:
# the Debian packages of the real services, and a .venv with the project and its dev tools.
# Quiet when everything is already there. Usage: scripts/bootstrap.sh [--no-browser]
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=1
[ "${1:-}" = "--no-browser" ] && want_browser=0

# Debian package -> a file it installs, so we only call apt when something is missing.
declare -A PKG_FILE=(
  [mosquitto]=/usr/sbin/mosquitto
  [mosquitto-clients]=/usr/bin/mosquitto_pub
  [influxdb]=/usr/bin/influxd
  [postgresql]=/usr/lib/postgresql
  [python3-venv]=/usr/lib/python3/dist-packages/venv
)
if [ "$want_browser" = 1 ]; then
  PKG_FILE[chromium]=/usr/bin/chromium
fi

missing=()
for pkg in "${!PKG_FILE[@]}"; do
  if [ ! -e "${PKG_FILE[$pkg]}" ]; then
    # python3-venv only matters when the interpreter we use lacks venv
    if [ "$pkg" = python3-venv ] && python3 -c "import venv, ensurepip" 2>/dev/null; then continue; fi
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "GridWatch needs these Debian packages, and this is not root. Install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The virtualenv: rebuilt only when pyproject.toml changed since the last install.
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "GridWatch needs Python >= 3.11 (found $("$PY" --version)); set PYTHON=/path/to/python3.11" >&2
  exit 1
}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.gridwatch-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing GridWatch and its dev dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import gridwatch.cli" # fail loudly if the install did not take
  touch "$stamp"
fi
