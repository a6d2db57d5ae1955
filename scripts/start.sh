#!/usr/bin/env bash
# Set up the host and start the Burrow server:
#   bash scripts/start.sh [burrow serve args...]
# Needs root on Debian 12 (installs docker.io etc. when missing; see scripts/setup-host.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup-host.sh

# See scripts/test.sh: reinstall only when the lockfile changed since the last install.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "start: npm ci"
  npm ci
fi

echo "start: npm run build"
npm run build

exec node packages/cli/dist/bin.js serve "$@"
