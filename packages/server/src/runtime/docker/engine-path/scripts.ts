/**
 * The POSIX sh scripts of the Engine API path. They run inside the sandbox through `docker exec` with
 * `sh -c <script> burrow <args...>`: paths and argv are always positional parameters, never part of the script
 * text, and every expansion is quoted. They use only what busybox and GNU coreutils both offer (`stat -c` with
 * %f %s %Y %y %n and %a %u %g, `readlink [-f]`, `mkdir -p`, `rm -rf`, `mv -f`, `tar -cf/-xf`, `tr`, `grep -qxF`).
 *
 * A line on stderr starting with the byte 0x1e is a message to the server, never user output:
 * `\x1eburrow:errno:<NAME>` (an errno the script determined itself), `\x1eburrow:tool:<name>` (a tool the image
 * lacks), `\x1eburrow:pid:<n>` (the process group of a user exec, always its first stderr bytes).
 */

/** `$0` of every script (what its own error messages start with). */
export const SCRIPT_NAME = 'burrow';

/** Marks a message from a script on stderr. */
export const MESSAGE_BYTE = 0x1e;

/**
 * Runs a user command: `sh -c EXEC_WRAPPER burrow <workdir> <argv...>`. Changes to the working directory (an
 * errno line when it cannot), reports its pid (= the process group: runc starts every exec in a new session),
 * reports a missing command as exit code 127 with a message naming it, then replaces itself with the command.
 * It sets no shell variables, so a caller's environment reaches the command unchanged.
 */
export const EXEC_WRAPPER = `if [ -n "$1" ]; then
  if [ -n "\${OLDPWD+x}" ]; then cd "$1" 2>/dev/null; else cd "$1" 2>/dev/null && unset OLDPWD; fi || {
    if [ ! -e "$1" ]; then printf '\\036burrow:errno:ENOENT\\n' >&2
    elif [ ! -d "$1" ]; then printf '\\036burrow:errno:ENOTDIR\\n' >&2
    else printf '\\036burrow:errno:EACCES\\n' >&2; fi
    exit 1
  }
fi
shift
printf '\\036burrow:pid:%s\\n' "$$" >&2
case $1 in
  */*) [ -e "$1" ] ;;
  *) command -v "$1" >/dev/null 2>&1 ;;
esac || { printf 'burrow: %s: No such file or directory\\n' "$1" >&2; exit 127; }
exec "$@"
`;

/**
 * Kills what an exec started: `sh -c KILL_SCRIPT burrow <signal number> <pgid> <token> group|all`. `group`
 * signals the process group; `all` also SIGKILLs every process whose environment carries
 * `BURROW_EXEC_ID=<token>` (children that left the group with setsid or double-forked), until none is left.
 * An empty pgid (the exec was closed before its wrapper reported it) leaves only the sweep by token.
 * It runs as the exec's user, which may signal its own processes without CAP_KILL.
 */
export const KILL_SCRIPT = `[ -z "$2" ] || kill "-$1" "-$2" 2>/dev/null || kill "-$1" "$2" 2>/dev/null
[ "$4" = all ] || exit 0
i=0
while [ $i -lt 50 ]; do
  f=
  for d in /proc/[0-9]*; do
    [ "\${d#/proc/}" = "$$" ] && continue
    if tr '\\000' '\\n' 2>/dev/null <"$d/environ" | grep -qxF "BURROW_EXEC_ID=$3"; then kill -9 "\${d#/proc/}" 2>/dev/null && f=1; fi
  done
  [ -n "$f" ] || exit 0
  i=$((i+1))
done
`;

/**
 * File operations: `sh -c FILES_SCRIPT burrow <op> <encoded path> [...]`, paths encoded by encodePath.
 *
 * Output on stdout (binary; names length-prefixed by their byte count, LC_ALL=C):
 * - stat:  `S<mode hex> <size> <mtime s> <date> <time.ns> <zone>\n` then `L<len>:<link target>` for a symlink
 * - list:  per entry `N<len>:<name>` (+ `L<len>:<target>`), then per chunk of entries the stat lines
 *          `S... ./<name>\n` in the same order (an entry removed meanwhile has no stat line)
 * - read:  the stat line of the file (following symlinks), then its bytes
 * - write: `R<len>:<temporary path>` (or `R0:` when writing in place) once ready for data, `Z<size>\n` when
 *          stdin is drained; the temporary file is renamed over the target by `commit` only after the server
 *          has seen all its data arrive (an EOF alone could be a dropped connection)
 * - archive / unpack: a tar stream of the directory's contents on stdout / stdin (run as root)
 */
export const FILES_SCRIPT = `nl='
'
E() { printf '\\036burrow:errno:%s\\n' "$1" >&2; exit 1; }
N() { for t; do command -v "$t" >/dev/null 2>&1 || { printf '\\036burrow:tool:%s\\n' "$t" >&2; exit 1; }; done; }
D() { P=$(printf "$1"; echo x); P=\${P%x}; }
K() { K=$(readlink $1 "$2"; echo x); K=\${K%x}; K=\${K%"$nl"}; }
W() {
  r=\${1#/}; c=
  while :; do
    case $r in */*) h=\${r%%/*}; r=\${r#*/}; l= ;; *) h=$r; l=1 ;; esac
    c=$c/$h
    if [ ! -e "$c" ] && [ ! -L "$c" ]; then E ENOENT; fi
    [ -z "$l" ] || E ENOENT
    [ -d "$c" ] || E ENOTDIR
    [ -x "$c" ] || E EACCES
  done
}
F='%f %s %Y %y'
case $1 in
stat)
  N stat readlink; D "$2"
  [ -e "$P" ] || [ -L "$P" ] || W "$P"
  stat -c "S$F" "$P" || exit 1
  if [ -L "$P" ]; then K '' "$P"; printf 'L%s:%s' "\${#K}" "$K"; fi
  ;;
list)
  N stat readlink; D "$2"
  [ -e "$P" ] || [ -L "$P" ] || W "$P"
  [ -d "$P" ] || E ENOTDIR
  cd "$P" 2>/dev/null && [ -r . ] || E EACCES
  set --
  for f in * .[!.]* ..?*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    printf 'N%s:%s' "\${#f}" "$f"
    if [ -L "$f" ]; then K '' "./$f"; printf 'L%s:%s' "\${#K}" "$K"; fi
    set -- "$@" "./$f"
    if [ $# -ge 200 ]; then stat -c "S$F %n" "$@"; set --; fi
  done
  [ $# -eq 0 ] || stat -c "S$F %n" "$@"
  exit 0
  ;;
read)
  N stat cat; D "$2"
  [ -e "$P" ] || W "$P"
  [ -d "$P" ] && E EISDIR
  [ -r "$P" ] || E EACCES
  stat -L -c "S$F" "$P" || exit 1
  exec cat "$P"
  ;;
write)
  N stat cat chmod mkdir readlink; D "$2"; m=$3; o=
  if [ -L "$P" ]; then K -f "$P"; [ -z "$K" ] || P=$K; fi
  [ -d "$P" ] && E EISDIR
  d=\${P%/*}; [ -n "$d" ] || d=/
  [ -d "$d" ] || { umask 022; mkdir -p "$d" || exit 1; }
  if [ -e "$P" ]; then m=$(stat -L -c %a "$P") && o=$(stat -L -c %u:%g "$P") || exit 1; fi
  T=\${d%/}/.burrow-write.$$
  if (umask 077; true >"$T") 2>/dev/null; then
    printf 'R%s:%s' "\${#T}" "$T"
    if cat >"$T" && chmod "$m" "$T"; then
      [ -z "$o" ] || chown "$o" "$T" 2>/dev/null
      stat -c 'Z%s' "$T" && exit 0
    fi
    rm -f "$T"; exit 1
  fi
  if [ -f "$P" ] && [ -w "$P" ]; then printf 'R0:'; cat >"$P" && stat -L -c 'Z%s' "$P" && exit 0; exit 1; fi
  true >"$T"; exit 1
  ;;
commit)
  N mv readlink; D "$2"; T=$P; D "$3"
  if [ -L "$P" ]; then K -f "$P"; [ -z "$K" ] || P=$K; fi
  mv -f "$T" "$P" || { rm -f "$T"; exit 1; }
  ;;
discard)
  D "$2"; rm -f "$P"
  ;;
mkdir)
  N mkdir; D "$2"
  [ -d "$P" ] && exit 0
  umask 022; mkdir -p "$P" || exit 1
  ;;
remove)
  N rm; D "$2"
  [ -e "$P" ] || [ -L "$P" ] || W "$P"
  rm -rf "$P" || exit 1
  ;;
archive)
  N tar; D "$2"; cd "$P" || exit 1
  exec tar -cf - .
  ;;
unpack)
  N tar; D "$2"; cd "$P" || exit 1
  exec tar -xf -
  ;;
esac
`;

const PLAIN = /[A-Za-z0-9/._+,=@~:-]/;

/**
 * A path as printf format text: bytes other than plain ASCII become \ooo octal escapes, decoded inside the
 * sandbox by printf. This carries any byte but NUL (also non-UTF-8 names, which the Engine API's JSON cannot),
 * and keeps % and \ from meaning anything to printf.
 */
export function encodePath(path: Uint8Array): string {
  let out = '';
  for (const byte of path) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && PLAIN.test(char) ? char : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  return out;
}
