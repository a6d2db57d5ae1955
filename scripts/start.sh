#!/usr/bin/env bash
# Set up the host and start the Burrow server:
#   bash scripts/start.sh [burrow serve args...]
# Needs root on Debian 12 and Node.js >= 20.19 with npm (checked first). Installs only what serving needs (docker.io,
# gcc, libc6-dev, debootstrap; see scripts/setup-host.sh), builds, and runs `burrow serve`, which checks the host
# (the required checks of `burrow doctor`), builds the default sandbox image on the first start (with progress) and
# prints where to go from there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup-host.sh serve

# See scripts/test.sh: reinstall only when the lockfile changed since the last install.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "start: npm ci"
  npm ci --no-audit --no-fund
fi

echo "start: npm run build"
npm run build --silent

# The whole host check, warnings included; it stops here when something required is missing (serve itself runs
# only the required checks).
echo "start: burrow doctor"
node packages/cli/dist/bin.js doctor --skip port

exec packages/cli/dist/bin.js serve "$@"
