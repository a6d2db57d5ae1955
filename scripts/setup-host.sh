#!/usr/bin/env bash
# Idempotent host preparation for Burrow (Debian 12 "bookworm", run as root).
#
#   bash scripts/setup-host.sh [serve|test]   # prepare the host for that purpose (default: test)
#   source scripts/setup-host.sh              # only defines the setup_* functions
#
# Purposes (each installs only what it needs, with ONE apt-get call, and only what is missing):
#   serve  what `burrow serve` needs: docker.io (when no dockerd/docker binary exists), gcc and libc6-dev (the
#          in-sandbox agent is a static C binary), debootstrap (the default image's Debian base when no
#          registry answers), runsc (gVisor, for sandboxes created with runtime "gvisor"), registered with dockerd
#          as the runtimes "runsc" and "runsc-net" (see setup_runsc)
#   test   serve's, plus busybox-static (test images), chromium (browser tests), s3fs and fuse3 (S3 FUSE mounts),
#          tmux (the terminal tests of `burrow serve` and `burrow shell`), curl and openssl (the docs' commands, run by a test)
#
# Every purpose first checks the prerequisites nothing here installs (Node.js >= 20.19 with npm) and stops with a
# message that says what to install; then it starts dockerd in the background (setsid, log in
# /var/log/dockerd.log) when `docker info` fails, and waits up to 60 s for it to answer. What is already in place is
# skipped (the whole script takes about a second then). It checks nothing else: that is `burrow doctor`'s job, which
# start.sh and test.sh run once the CLI is built (and `burrow serve` runs its required checks at every start).
#
# Environment knobs:
#   BURROW_DOCKERD_LOG          dockerd log file (default /var/log/dockerd.log)
#   BURROW_DOCKERD_WAIT         seconds to wait for dockerd (default 60)
#   BURROW_SETUP_APT_LOG        apt output (default /var/log/burrow-setup-apt.log)
#   BURROW_SETUP_SKIP_PACKAGES  set to 1 to skip the apt part entirely

SETUP_NODE_MIN=20.19
SETUP_PACKAGES_SERVE=(gcc libc6-dev debootstrap runsc)
SETUP_PACKAGES_TEST=("${SETUP_PACKAGES_SERVE[@]}" busybox-static chromium s3fs fuse3 tmux curl openssl)

setup_log() { echo "setup: $*"; }
setup_err() { echo "setup: ERROR: $*" >&2; }

# The Debian packages a purpose needs (docker.io is decided separately: any docker install will do).
setup_packages_for() {
  case "$1" in
    serve) printf '%s\n' "${SETUP_PACKAGES_SERVE[@]}" ;;
    test) printf '%s\n' "${SETUP_PACKAGES_TEST[@]}" ;;
    *)
      setup_err "unknown purpose '$1': use serve or test"
      return 2
      ;;
  esac
}

# True when version $1 (e.g. 20.19.2) is at least $2 (e.g. 20.19).
setup_version_at_least() {
  local -a have want
  IFS=. read -r -a have <<<"$1"
  IFS=. read -r -a want <<<"$2"
  local i
  for i in 0 1 2; do
    local h="${have[$i]:-0}" w="${want[$i]:-0}"
    [[ "$h" =~ ^[0-9]+$ ]] || h=0
    ((10#$h > 10#$w)) && return 0
    ((10#$h < 10#$w)) && return 1
  done
  return 0
}

# What Burrow needs that this script does not install: Node.js >= 20.19 with npm (Debian 12's own nodejs is 18).
setup_check_prereqs() {
  local how="install Node.js ${SETUP_NODE_MIN} or newer (the Linux binaries from nodejs.org, or nvm), make sure 'node' and 'npm' are on PATH, and run this again. Debian 12's own nodejs package (18.x) is too old."
  if ! command -v node >/dev/null 2>&1; then
    setup_err "Node.js is not installed (no 'node' on PATH): $how"
    return 1
  fi
  local version
  version="$(node --version 2>/dev/null)" || version=""
  version="${version#v}"
  if [[ -z "$version" ]] || ! setup_version_at_least "$version" "$SETUP_NODE_MIN"; then
    setup_err "Node.js ${version:-of unknown version} is too old (Burrow needs ${SETUP_NODE_MIN} or newer): $how"
    return 1
  fi
  if ! command -v npm >/dev/null 2>&1; then
    setup_err "npm is not installed (Node.js $version is, without npm): $how"
    return 1
  fi
  setup_log "node $version and npm present"
}

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

# setup_install_packages [serve|test]
setup_install_packages() {
  local purpose="${1:-test}"
  if [[ "${BURROW_SETUP_SKIP_PACKAGES:-0}" == 1 ]]; then
    setup_log "skipping package installation (BURROW_SETUP_SKIP_PACKAGES=1)"
    return 0
  fi
  local -a wanted missing
  mapfile -t wanted < <(setup_packages_for "$purpose") || return 2
  ((${#wanted[@]} > 0)) || return 2
  mapfile -t missing < <(setup_missing_packages "${wanted[@]}")
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    missing=(docker.io "${missing[@]}")
  fi
  if ((${#missing[@]} == 0)); then
    setup_log "packages for '$purpose' present"
    return 0
  fi
  if [[ $EUID -ne 0 ]]; then
    setup_err "missing packages (${missing[*]}) and not running as root; install them or re-run as root"
    return 1
  fi
  local log="${BURROW_SETUP_APT_LOG:-/var/log/burrow-setup-apt.log}"
  setup_log "installing for '$purpose': ${missing[*]} (apt log: $log)"
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
    setsid dockerd >"$log" 2>&1 </dev/null &
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

# Registers Debian's runsc with dockerd, merging into /etc/docker/daemon.json (what is there is kept):
#   runsc      --network=none --host-uds=open   gVisor sandboxes with network_mode none
#   runsc-net  --network=host --host-uds=open   gVisor sandboxes on Burrow's managed networks (internal, bridge)
# runsc's own network stack refuses to start on this kind of host ("cannot run with network enabled in root network
# namespace"), so the second passes the container's own network namespace through; --host-uds=open lets the
# in-sandbox agent connect out to its channel socket. A running dockerd reloads its runtimes on SIGHUP.
SETUP_DAEMON_JSON="${BURROW_DAEMON_JSON:-/etc/docker/daemon.json}"
setup_runsc() {
  local runsc
  runsc="$(command -v runsc || true)"
  if [[ -z "$runsc" ]]; then
    setup_log "runsc is not installed: gVisor sandboxes will not be available (apt-get install runsc)"
    return 0
  fi
  local changed
  changed="$(
    RUNSC="$runsc" FILE="$SETUP_DAEMON_JSON" node -e '
      const fs = require("node:fs");
      const file = process.env.FILE;
      let config = {};
      try { config = JSON.parse(fs.readFileSync(file, "utf8")); } catch (error) {
        if (error.code !== "ENOENT") { console.error(`cannot read ${file}: ${error.message}`); process.exit(1); }
      }
      const wanted = {
        "runsc": { path: process.env.RUNSC, runtimeArgs: ["--network=none", "--host-uds=open"] },
        "runsc-net": { path: process.env.RUNSC, runtimeArgs: ["--network=host", "--host-uds=open"] },
      };
      config.runtimes = config.runtimes ?? {};
      let changed = false;
      for (const [name, runtime] of Object.entries(wanted)) {
        if (JSON.stringify(config.runtimes[name]) === JSON.stringify(runtime)) continue;
        config.runtimes[name] = runtime;
        changed = true;
      }
      if (changed) {
        fs.mkdirSync(require("node:path").dirname(file), { recursive: true });
        fs.writeFileSync(`${file}.burrow.tmp`, JSON.stringify(config, null, 2) + "\n");
        fs.renameSync(`${file}.burrow.tmp`, file);
      }
      process.stdout.write(changed ? "yes" : "no");
    '
  )" || return 1
  if [[ "$changed" != yes ]]; then
    setup_log "runsc registered with dockerd"
    return 0
  fi
  setup_log "registered runsc and runsc-net in $SETUP_DAEMON_JSON"
  if pgrep -x dockerd >/dev/null 2>&1; then
    pkill -HUP -x dockerd
    local deadline=$((SECONDS + 20))
    until docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc-net"'; do
      if ((SECONDS > deadline)); then
        setup_err "dockerd did not pick up the runsc runtimes after SIGHUP; restart it"
        return 1
      fi
      sleep 0.2
    done
    setup_log "dockerd reloaded its runtimes"
  fi
}

# setup_host [serve|test]: each step is its own function, so that a step can be added (or run alone) without
# touching the others.
setup_host() {
  local purpose="${1:-test}"
  setup_packages_for "$purpose" >/dev/null || return 2
  setup_check_prereqs || return 1
  setup_install_packages "$purpose" || return 1
  setup_runsc || return 1
  setup_start_docker || return 1
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  setup_host "$@"
fi
