#!/usr/bin/env bash
# Set up the host and run all of Burrow's tests (unit, docker, e2e):
#   bash scripts/test.sh [vitest args...]     e.g. bash scripts/test.sh --project unit
# Needs root on Debian 12 and Node.js >= 20.19 with npm (checked first). Installs what the tests need (see
# scripts/setup-host.sh test), builds, checks the host with `burrow doctor`, builds the test images and runs vitest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup-host.sh test

# npm writes node_modules/.package-lock.json on every install, so it is older than
# package-lock.json exactly when the lockfile changed since the last install.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "test: npm ci"
  npm ci --no-audit --no-fund
else
  echo "test: node_modules up to date"
fi

echo "test: npm run build"
npm run build

echo "test: npm run lint"
npm run lint

# The host check of `burrow doctor` (the port is the test servers' own business).
echo "test: burrow doctor"
node packages/cli/dist/bin.js doctor --skip port

echo "test: test images"
bash images/build-test-images.sh

# The build above is what `npm test` would do first; run the suites directly. The tiers run in a fixed order
# (unit, then docker, then e2e: sequence.groupOrder in vitest.config.ts), never side by side.
echo "test: vitest run $*"
npx vitest run "$@"
