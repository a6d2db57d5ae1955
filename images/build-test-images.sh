#!/usr/bin/env bash
# Builds Burrow's local test images WITHOUT any image registry (run as root):
#
#   burrow-test/busybox:latest    busybox-static + applet links, users root/sandbox(1000)/nobody, no CMD
#   burrow-test/debian:latest     debootstrap bookworm minbase + python3 + procps, user sandbox(1000), CMD bash
#   burrow/debian-base:bookworm   the same minbase rootfs without the sandbox user (base of images/default)
#   burrow-test/empty:latest      no shell/coreutils/libc: /etc/passwd, /etc/group, /hello.txt, /tmp; no CMD
#
# Images that already exist are skipped (checked with `docker image inspect`).
# The debootstrap result is cached in $BURROW_CACHE_DIR/debian-bookworm-minbase.tar
# (default /var/cache/burrow), so re-importing after `docker rmi` takes seconds.
#
# Usage: bash images/build-test-images.sh [--force] [--base-only]
#   --force       rebuild every image and refresh the debootstrap cache
#   --base-only   only burrow/debian-base (what `burrow image build` needs without a registry)
#
# Environment: BURROW_CACHE_DIR, BURROW_DEBIAN_MIRROR (default http://deb.debian.org/debian)
set -euo pipefail

usage() { sed -n '2,17s/^# \{0,1\}//p' "$0"; }

FORCE=0
BASE_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --base-only) BASE_ONLY=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "images: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

log() { echo "images: $*"; }
die() { echo "images: ERROR: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (debootstrap, chroot and file ownership need it)"
command -v docker >/dev/null || die "docker CLI not found (run scripts/setup-host.sh)"
docker info >/dev/null 2>&1 || die "docker daemon does not answer (run scripts/setup-host.sh)"

PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
TEST_LABEL='LABEL burrow.test-image=true'
CACHE_DIR="${BURROW_CACHE_DIR:-/var/cache/burrow}"
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR="${BURROW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_INCLUDE=python3,procps
DEBIAN_CACHE="$CACHE_DIR/debian-$DEBIAN_SUITE-minbase.tar"
# Written next to the cache; a different recipe invalidates the cached tarball.
DEBIAN_RECIPE="v1 suite=$DEBIAN_SUITE variant=minbase include=$DEBIAN_INCLUDE mirror=$DEBIAN_MIRROR"

BUSYBOX_IMAGE=burrow-test/busybox:latest
DEBIAN_IMAGE=burrow-test/debian:latest
BASE_IMAGE=burrow/debian-base:$DEBIAN_SUITE
EMPTY_IMAGE=burrow-test/empty:latest

WORK=""
cleanup() {
  [[ -n "$WORK" && -d "$WORK" ]] || return 0
  # debootstrap bind-mounts /dev, /proc, /sys into its target; it unmounts them
  # itself, but never let a failed run make `rm -rf` walk into host mounts.
  local m
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
workdir() {
  if [[ -z "$WORK" ]]; then
    WORK="$(mktemp -d /var/tmp/burrow-images.XXXXXX)"
  fi
}

needs_build() {
  if ((FORCE)); then
    remember_old "$1"
    return 0
  fi
  if docker image inspect "$1" >/dev/null 2>&1; then
    log "$1 present, skipping"
    return 1
  fi
  return 0
}

# new_rootfs NAME -> sets ROOTFS to a fresh $WORK/NAME with mode 0755 (mktemp's
# 0700 would end up as the mode of "/" in the image and lock non-root users out).
# Not used via $(...): WORK must be set in this shell for the cleanup trap.
new_rootfs() {
  workdir
  ROOTFS="$WORK/$1"
  rm -rf --one-file-system "$ROOTFS"
  mkdir -p "$ROOTFS"
  chmod 0755 "$ROOTFS"
}

# With --force the old image loses its tag; delete it unless something still uses it
# (a container or a child image such as burrow/default), so no <none> images pile up.
OLD_IDS=()
remember_old() {
  local id
  id="$(docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true)"
  [[ -z "$id" ]] || OLD_IDS+=("$id")
}
drop_replaced() {
  local id
  for id in "${OLD_IDS[@]}"; do
    # Still tagged (e.g. the same layer re-imported under the same ID)? keep it.
    [[ -z "$(docker image inspect -f '{{join .RepoTags ","}}' "$id" 2>/dev/null)" ]] || continue
    if docker rmi "$id" >/dev/null 2>&1; then
      log "removed replaced image ${id:7:12}"
    fi
  done
}

# import_dir DIR IMAGE [--change ...]...
import_dir() {
  local dir="$1" image="$2"
  shift 2
  tar -C "$dir" --numeric-owner --one-file-system -cf - . | docker import "$@" - "$image" >/dev/null
  log "imported $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{ printf "%.1f MB", $1 / 1e6 }'))"
}

write_users() { # DIR SHELL
  local dir="$1" shell="$2"
  mkdir -p "$dir/etc"
  cat >"$dir/etc/passwd" <<EOF
root:x:0:0:root:/root:$shell
sandbox:x:1000:1000:sandbox:/home/sandbox:$shell
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$dir/etc/group" <<EOF
root:x:0:
sandbox:x:1000:
nogroup:x:65534:
EOF
  chmod 0644 "$dir/etc/passwd" "$dir/etc/group"
}

build_busybox() {
  needs_build "$BUSYBOX_IMAGE" || return 0
  local bb
  bb="$(readlink -f /bin/busybox 2>/dev/null || true)"
  [[ -x "$bb" ]] || die "/bin/busybox not found (apt-get install busybox-static)"
  log "building $BUSYBOX_IMAGE from $bb"
  new_rootfs busybox
  local dir="$ROOTFS"
  mkdir -p "$dir"/{bin,dev,proc,sys,root,home/sandbox,tmp}
  install -m 0755 "$bb" "$dir/bin/busybox"
  # A dynamically linked busybox (package "busybox") cannot run in a libc-less rootfs.
  chroot "$dir" /bin/busybox true 2>/dev/null \
    || die "$bb does not run in an empty rootfs; is it statically linked? (apt-get install busybox-static)"
  chroot "$dir" /bin/busybox --install -s /bin
  write_users "$dir" /bin/sh
  chmod 1777 "$dir/tmp"
  chmod 0700 "$dir/root"
  chown 1000:1000 "$dir/home/sandbox"
  import_dir "$dir" "$BUSYBOX_IMAGE" --change "$PATH_ENV" --change "$TEST_LABEL"
}

build_empty() {
  needs_build "$EMPTY_IMAGE" || return 0
  log "building $EMPTY_IMAGE"
  new_rootfs empty
  local dir="$ROOTFS"
  write_users "$dir" /bin/sh
  mkdir -p "$dir/tmp"
  chmod 1777 "$dir/tmp"
  printf 'hello from an empty image\n' >"$dir/hello.txt"
  chmod 0644 "$dir/hello.txt"
  import_dir "$dir" "$EMPTY_IMAGE" --change "$TEST_LABEL"
}

debian_cache_valid() {
  [[ -s "$DEBIAN_CACHE" && -f "$DEBIAN_CACHE.recipe" ]] || return 1
  [[ "$(cat "$DEBIAN_CACHE.recipe")" == "$DEBIAN_RECIPE" ]]
}

# Runs debootstrap into a fresh rootfs, trims it and stores it as the cache tarball.
debootstrap_to_cache() {
  command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
  new_rootfs debian
  local dir="$ROOTFS"
  log "debootstrap $DEBIAN_SUITE (minbase, +$DEBIAN_INCLUDE) from $DEBIAN_MIRROR (takes ~70 s)"
  local t0=$SECONDS
  if ! debootstrap --variant=minbase --include="$DEBIAN_INCLUDE" "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR" \
    >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    [[ -f "$dir/debootstrap/debootstrap.log" ]] && tail -n 30 "$dir/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  log "debootstrap done in $((SECONDS - t0)) s; trimming rootfs"
  # Same apt sources as debian:bookworm-slim (updates + security), so images built
  # FROM the base get security fixes too.
  rm -f "$dir/etc/apt/sources.list"
  mkdir -p "$dir/etc/apt/sources.list.d"
  cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: ${DEBIAN_MIRROR}
Suites: ${DEBIAN_SUITE} ${DEBIAN_SUITE}-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: ${DEBIAN_SUITE}-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf --one-file-system "${dir:?}"/var/cache/apt/archives/*.deb "${dir:?}"/var/cache/apt/archives/partial/* \
    "${dir:?}"/var/cache/apt/*.bin "${dir:?}"/var/lib/apt/lists/* "${dir:?}"/var/log/apt/* \
    "${dir:?}"/var/log/dpkg.log "${dir:?}"/var/log/bootstrap.log "${dir:?}"/debootstrap \
    "${dir:?}"/dev/* "${dir:?}"/tmp/* "${dir:?}"/var/tmp/* "${dir:?}"/root/.bash_history
  # Host-specific files debootstrap copies in; docker provides them at run time.
  : >"$dir/etc/resolv.conf"
  echo localhost >"$dir/etc/hostname"
  mkdir -p "$CACHE_DIR"
  tar -C "$dir" --numeric-owner --one-file-system -cf "$DEBIAN_CACHE.tmp" .
  mv -f "$DEBIAN_CACHE.tmp" "$DEBIAN_CACHE"
  printf '%s\n' "$DEBIAN_RECIPE" >"$DEBIAN_CACHE.recipe"
  log "cached rootfs in $DEBIAN_CACHE ($(du -m "$DEBIAN_CACHE" | cut -f1) MB)"
  DEBIAN_ROOTFS="$dir"
}

build_debian() {
  local need_test=0 need_base=0
  ((BASE_ONLY)) || { needs_build "$DEBIAN_IMAGE" && need_test=1; }
  needs_build "$BASE_IMAGE" && need_base=1
  ((need_test || need_base)) || return 0

  DEBIAN_ROOTFS=""
  if ((FORCE)) || ! debian_cache_valid; then
    debootstrap_to_cache
  else
    log "using cached rootfs $DEBIAN_CACHE"
  fi

  if ((need_base)); then
    log "importing $BASE_IMAGE"
    docker import --change 'CMD ["bash"]' --change "$PATH_ENV" \
      --change 'LABEL burrow.image=debian-base' "$DEBIAN_CACHE" "$BASE_IMAGE" >/dev/null
    log "imported $BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{ printf "%.1f MB", $1 / 1e6 }'))"
  fi

  if ((need_test)); then
    log "building $DEBIAN_IMAGE (base rootfs + user sandbox)"
    if [[ -z "$DEBIAN_ROOTFS" ]]; then
      new_rootfs debian
      DEBIAN_ROOTFS="$ROOTFS"
      tar -C "$DEBIAN_ROOTFS" --numeric-owner -xf "$DEBIAN_CACHE"
    fi
    chroot "$DEBIAN_ROOTFS" useradd --create-home --uid 1000 --user-group --shell /bin/bash sandbox
    import_dir "$DEBIAN_ROOTFS" "$DEBIAN_IMAGE" --change 'CMD ["bash"]' --change "$PATH_ENV" \
      --change "$TEST_LABEL"
  fi
}

T0=$SECONDS
if ((!BASE_ONLY)); then
  build_busybox
  build_empty
fi
build_debian
drop_replaced
log "done in $((SECONDS - T0)) s"
