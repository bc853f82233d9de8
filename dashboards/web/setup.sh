#!/usr/bin/env bash
# Install the web dashboard's front-end libraries from the npm registry, exactly as pinned in
# package-lock.json, into dashboards/web/node_modules (which the API process serves under
# /vendor/; nothing is fetched at run time). Idempotent and quiet when already done.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.gridwatch-installed
if [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ] && [ ! package.json -nt "$stamp" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "the web dashboard needs npm to install its pinned libraries: sudo apt-get install -y npm" >&2
  exit 1
fi
echo "installing the web dashboard's pinned front-end libraries (npm ci)"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
touch "$stamp"
