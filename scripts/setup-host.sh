#!/usr/bin/env bash
# Idempotent host preparation for Burrow (Debian 12 "bookworm", run as root).
#
#   bash scripts/setup-host.sh        # prepare the host
#   source scripts/setup-host.sh      # only defines the setup_* functions
#
# What it does, skipping everything that is already in place (< 2 s then):
#   * installs, with ONE apt-get call and only when missing: docker.io (when no
#     dockerd/docker binary exists), busybox-static, debootstrap, gcc, libc6-dev
#     (the in-sandbox agent is a static C binary), chromium (browser tests),
#     s3fs and fuse3 (S3 FUSE mounts);
#   * starts dockerd in the background (setsid, log in /var/log/dockerd.log)
#     when `docker info` fails, and waits up to 60 s for it to answer.
#
# Environment knobs:
#   BURROW_DOCKERD_LOG          dockerd log file (default /var/log/dockerd.log)
#   BURROW_DOCKERD_WAIT         seconds to wait for dockerd (default 60)
#   BURROW_SETUP_APT_LOG        apt output (default /var/log/burrow-setup-apt.log)
#   BURROW_SETUP_SKIP_PACKAGES  set to 1 to skip the apt part entirely

SETUP_PACKAGES=(busybox-static debootstrap gcc libc6-dev chromium s3fs fuse3)

setup_log() { echo "setup: $*"; }
setup_err() { echo "setup: ERROR: $*" >&2; }

# Prints the packages of "$@" that are not installed (one dpkg-query call).
setup_missing_packages() {
  local pkg status
  declare -A installed=()
  while IFS=' ' read -r pkg status; do
    [[ "$status" == *" ok installed" ]] && installed["${pkg%%:*}"]=1
  done < <(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null || true)
  for pkg in "$@"; do
    [[ -n "${installed[$pkg]:-}" ]] || echo "$pkg"
  done
}

setup_docker_ok() { timeout 20 docker info >/dev/null 2>&1; }

setup_install_packages() {
  if [[ "${BURROW_SETUP_SKIP_PACKAGES:-0}" == 1 ]]; then
    setup_log "skipping package installation (BURROW_SETUP_SKIP_PACKAGES=1)"
    return 0
  fi
  local -a missing
  mapfile -t missing < <(setup_missing_packages "${SETUP_PACKAGES[@]}")
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    missing=(docker.io "${missing[@]}")
  fi
  if ((${#missing[@]} == 0)); then
    setup_log "packages present"
    return 0
  fi
  if [[ $EUID -ne 0 ]]; then
    setup_err "missing packages (${missing[*]}) and not running as root; install them or re-run as root"
    return 1
  fi
  local log="${BURROW_SETUP_APT_LOG:-/var/log/burrow-setup-apt.log}"
  setup_log "installing: ${missing[*]} (apt log: $log)"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
  # Explicit checks: errexit is off inside functions called from `a || b`.
  if ! apt-get update -q >"$log" 2>&1; then
    setup_err "apt-get update failed; last lines of $log:"
    tail -n 30 "$log" >&2
    return 1
  fi
  setup_log "apt-get update done; installing"
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    setup_err "apt-get install ${missing[*]} failed; last lines of $log:"
    tail -n 30 "$log" >&2
    return 1
  fi
  setup_log "packages installed"
}

setup_start_docker() {
  if setup_docker_ok; then
    setup_log "docker daemon answers"
    return 0
  fi
  local log="${BURROW_DOCKERD_LOG:-/var/log/dockerd.log}"
  local wait_s="${BURROW_DOCKERD_WAIT:-60}" pid=""
  if ! command -v dockerd >/dev/null 2>&1; then
    setup_err "docker does not answer and dockerd is not installed (apt-get install docker.io)"
    return 1
  fi
  if pgrep -x dockerd >/dev/null 2>&1; then
    setup_log "dockerd is running but not answering yet; waiting up to ${wait_s}s"
  else
    setup_log "starting dockerd (log: $log)"
    mkdir -p "$(dirname "$log")" || return 1
    setsid dockerd >"$log" 2>&1 < /dev/null &
    pid=$!
    disown 2>/dev/null || true
  fi
  local deadline=$((SECONDS + wait_s))
  while ((SECONDS < deadline)); do
    if setup_docker_ok; then
      setup_log "docker daemon ready"
      return 0
    fi
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      setup_err "dockerd exited during startup; last lines of $log:"
      tail -n 40 "$log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.5
  done
  setup_err "docker daemon did not answer within ${wait_s}s; last lines of $log:"
  tail -n 40 "$log" >&2 2>/dev/null || true
  return 1
}

setup_host() {
  setup_install_packages || return 1
  setup_start_docker || return 1
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  setup_host "$@"
fi
