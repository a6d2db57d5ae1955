#!/usr/bin/env bash
# What the host running Burrow's engine looks like, for a failed or hung test run: containers, the daemon's last log
# lines, processes stuck in the kernel, the engine's processes, and disk. Every part has its own short deadline and
# none of them fails the script.
#   bash scripts/host-report.sh
set -uo pipefail

part() {
  local title="$1"
  shift
  echo "--- $title"
  timeout 10 bash -c "$*" 2>&1 || echo "(no answer: exit $?)"
}

part 'containers' 'docker ps -a --no-trunc --format "{{.ID}} {{.Status}} {{.Image}} {{.Names}}" | tail -n 40'
part 'dockerd log, last warnings and errors' 'grep -v "level=info" "${BURROW_DOCKERD_LOG:-/var/log/dockerd.log}" | tail -n 40 | cut -c1-400'
part 'processes in uninterruptible sleep' "ps -eo stat,pid,etime,wchan:32,args | awk 'NR == 1 || \$1 ~ /^D/' | head -n 40"
part 'engine processes' "ps -eo pid,stat,etime,args | grep -E 'dockerd|containerd|runsc|runc|s3fs' | grep -v grep | head -n 40"
part 'fuse mounts' "grep -c fuse /proc/self/mountinfo"
part 'disk' 'df -h /var/lib/docker /tmp'
part 'memory' 'free -m'
