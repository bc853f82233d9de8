#!/usr/bin/env bash
# Set up everything GridWatch needs on a Debian/Ubuntu machine, from nothing, idempotently:
# the Debian packages of the real services, and a .venv with the project and its dev tools.
# Quiet when everything is already there. Usage: scripts/bootstrap.sh [--no-browser]
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=1
[ "${1:-}" = "--no-browser" ] && want_browser=0

# Debian package -> how to tell it is there, so we only call apt when something is missing.
have_file() { [ -e "$1" ]; }
have_cmd() { command -v "$1" >/dev/null 2>&1; }
declare -A PKG_CHECK=(
  [mosquitto]="have_file /usr/sbin/mosquitto"
  [mosquitto-clients]="have_cmd mosquitto_pub"
  [influxdb]="have_file /usr/bin/influxd"
  [postgresql]="have_file /usr/lib/postgresql"
  [npm]="have_cmd npm"
  [poppler-utils]="have_cmd pdftoppm"  # tests: the label PDF rendered to an image
  [zbar-tools]="have_cmd zbarimg"  # tests: the labels' QR codes read back
)
if [ "$want_browser" = 1 ]; then
  PKG_CHECK[chromium]="have_file /usr/bin/chromium"
  PKG_CHECK[fonts-wqy-microhei]="have_file /usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
fi

missing=()
for pkg in "${!PKG_CHECK[@]}"; do
  ${PKG_CHECK[$pkg]} || missing+=("$pkg")
done
# python3-venv only matters when the interpreter we use lacks venv/ensurepip
"${PYTHON:-python3}" -c "import venv, ensurepip" 2>/dev/null || missing+=(python3-venv)

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
  for args in "--upgrade pip" "-e .[dev]"; do
    # shellcheck disable=SC2086  # args is two words on purpose
    if ! .venv/bin/python -m pip install -q $args >.venv/pip.log 2>&1; then
      cat .venv/pip.log >&2
      echo "pip install $args failed (log above)" >&2
      exit 1
    fi
  done
  .venv/bin/python -c "import gridwatch.cli" # fail loudly if the install did not take
  touch "$stamp"
fi

# The web dashboard's pinned front-end libraries (npm ci from package-lock.json).
dashboards/web/setup.sh
