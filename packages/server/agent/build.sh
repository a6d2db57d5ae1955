#!/usr/bin/env bash
# Builds burrow-agent, the static in-sandbox helper, into packages/server/dist/agent/burrow-agent.
# Static so it runs in any image (busybox, Debian, images without a libc). Skips work when up to date.
# Also builds burrow-agent-sanitized (AddressSanitizer + UBSan, dynamic, for the host tests only) when the
# compiler has the sanitizer runtimes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../dist/agent/burrow-agent"
sources=("$here"/src/*.c "$here"/src/*.h)

sanitized="$out-sanitized"
if [[ -x "$out" ]]; then
  newer=0
  for f in "${sources[@]}" "$0"; do [[ "$f" -nt "$out" || ! -e "$sanitized" ]] && newer=1; done
  [[ $newer -eq 0 ]] && exit 0
fi
cc="${CC:-gcc}"
# Without a toolchain the build still succeeds: burrow serve then uses the Engine API path (no agent) and says so.
if ! command -v "$cc" >/dev/null; then
  echo "agent: no C compiler ($cc): burrow-agent not built, so Burrow will use the slower Engine API path;" \
    "install gcc and libc6-dev (apt-get install -y gcc libc6-dev) for the fast path" >&2
  exit 0
fi
if [[ "$("$cc" -print-file-name=libc.a)" != /* ]]; then
  echo "agent: no static C library for $cc: burrow-agent not built, so Burrow will use the slower Engine API path;" \
    "install libc6-dev (apt-get install -y libc6-dev) for the fast path" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
warnings=(-Wall -Wextra -Werror -Wno-unused-result -Wformat=2 -Wshadow -Wvla)
"$cc" -static -O2 -std=gnu11 "${warnings[@]}" -D_FORTIFY_SOURCE=2 -o "$tmp" "$here"/src/*.c
strip "$tmp" 2>/dev/null || true
chmod 0755 "$tmp"
mv -f "$tmp" "$out"
echo "agent: built $out"
if [[ "$("$cc" -print-file-name=libasan.so)" == /* && "$("$cc" -print-file-name=libubsan.so)" == /* ]]; then
  "$cc" -O1 -g -std=gnu11 "${warnings[@]}" -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer -o "$tmp" "$here"/src/*.c
  mv -f "$tmp" "$sanitized"
  echo "agent: built $sanitized"
fi
