/*
 * Archive and unpack of a directory tree in the agent's own record format (PROTOCOL.md, "Archive stream"), used
 * by snapshots to capture and restore tmpfs contents. Unpacking never follows a symlink and never leaves the root.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define OUT_CHUNK (1024 * 1024)
/* Deepest directory level archived; deeper trees fail the archive (ELOOP) rather than the handler's stack. */
#define MAX_DEPTH 1024

/* ---- archive: records are batched into `d` frames of up to 1 MiB ---- */

struct archive_out {
  struct conn *c;
  struct buf pending;
  uint64_t total;
  dev_t dev;
  int err;
};

static void out_flush(struct archive_out *o) {
  if (o->pending.len == 0) return;
  if (send_frame(o->c, 'd', o->pending.data, o->pending.len) < 0) _exit(0);
  o->total += o->pending.len;
  o->pending.len = 0;
}

static void out_put(struct archive_out *o, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    size_t room = OUT_CHUNK - o->pending.len;
    size_t n = len < room ? len : room;
    buf_put(&o->pending, p, n);
    p += n;
    len -= n;
    if (o->pending.len == OUT_CHUNK) out_flush(o);
  }
}

static void out_header(struct archive_out *o, char kind, const struct stat *st, const char *relpath) {
  struct buf b = {0};
  buf_put(&b, &kind, 1);
  buf_u32(&b, st->st_mode & 07777);
  buf_u32(&b, st->st_uid);
  buf_u32(&b, st->st_gid);
  buf_u64(&b, (uint64_t)(int64_t)st->st_mtim.tv_sec);
  buf_cstr(&b, relpath);
  out_put(o, b.data, b.len);
  buf_free(&b);
}

static void archive_file(struct archive_out *o, int dfd, const char *name, const struct stat *st, const char *rel) {
  int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return; /* vanished or unreadable: skipped, like tar's warning */
  out_header(o, 'F', st, rel);
  struct buf size = {0};
  buf_u64(&size, (uint64_t)st->st_size);
  out_put(o, size.data, size.len);
  buf_free(&size);
  /* Exactly st_size bytes: a file that changes meanwhile is cut or zero-padded so the stream stays parseable. */
  static char chunk[256 * 1024];
  uint64_t left = (uint64_t)st->st_size;
  while (left > 0) {
    size_t want = left < sizeof chunk ? (size_t)left : sizeof chunk;
    ssize_t n = read(fd, chunk, want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      memset(chunk, 0, want);
      n = (ssize_t)want;
    }
    out_put(o, chunk, (size_t)n);
    left -= (uint64_t)n;
  }
  close(fd);
}

/*
 * One directory level. Path buffers live on the heap, so a level costs a small stack frame and the depth is bounded
 * by PATH_MAX (a relpath too long to record is skipped) and by MAX_DEPTH; a level that cannot be opened fails the
 * whole archive (o->err) instead of leaving a silent hole in a snapshot.
 */
static void archive_dir(struct archive_out *o, int dfd, const char *prefix, int depth) {
  DIR *dir = fdopendir(dfd);
  if (!dir) {
    o->err = errno;
    close(dfd);
    return;
  }
  char *rel = xmalloc(PATH_MAX);
  char *target = xmalloc(PATH_MAX);
  struct dirent *entry;
  while (!o->err && (entry = readdir(dir))) {
    if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dfd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if ((size_t)snprintf(rel, PATH_MAX, "%s%s%s", prefix, *prefix ? "/" : "", entry->d_name) >= PATH_MAX)
      continue;
    if (S_ISDIR(st.st_mode)) {
      /* Another filesystem mounted inside (a volume) is shared state, not part of this tree. */
      if (st.st_dev != o->dev) continue;
      if (depth >= MAX_DEPTH) {
        o->err = ELOOP;
        break;
      }
      out_header(o, 'D', &st, rel);
      int child = openat(dfd, entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0) archive_dir(o, child, rel, depth + 1);
      else if (errno != ENOENT) o->err = errno;
    } else if (S_ISREG(st.st_mode)) {
      archive_file(o, dfd, entry->d_name, &st, rel);
    } else if (S_ISLNK(st.st_mode)) {
      ssize_t n = readlinkat(dfd, entry->d_name, target, PATH_MAX - 1);
      if (n < 0) continue;
      target[n] = 0;
      out_header(o, 'L', &st, rel);
      struct buf b = {0};
      buf_cstr(&b, target);
      out_put(o, b.data, b.len);
      buf_free(&b);
    }
    /* Sockets, FIFOs and devices are not captured. */
  }
  free(rel);
  free(target);
  closedir(dir);
}

void do_archive(struct conn *c, const char *path) {
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (dfd < 0 || fstat(dfd, &st) < 0) return (void)send_fail(c, errno, NULL);
  struct archive_out o = {.c = c, .dev = st.st_dev};
  archive_dir(&o, dfd, "", 0);
  if (o.err) {
    /* The stream so far is incomplete: fail the request instead of ending it, so no partial snapshot is kept. */
    out_flush(&o);
    return (void)send_fail(c, o.err, o.err == ELOOP ? "the directory tree is too deep to archive" : NULL);
  }
  out_put(&o, "E", 1);
  out_flush(&o);
  send_done(c, o.total);
}

/* ---- unpack: a byte stream assembled from the client's `d` frames ---- */

struct archive_in {
  struct conn *c;
  struct buf frame;
  size_t off;
  int ended;
};

static int in_read(struct archive_in *in, void *dst, size_t len) {
  char *p = dst;
  while (len > 0) {
    if (in->off == in->frame.len) {
      if (in->ended) return -1;
      char type;
      if (read_frame(in->c, &type, &in->frame) < 0) _exit(0);
      in->off = 0;
      if (type == 'z') {
        in->ended = 1;
        in->frame.len = 0;
        return -1;
      }
      if (type != 'd') return -1;
      continue;
    }
    size_t n = in->frame.len - in->off;
    if (n > len) n = len;
    memcpy(p, in->frame.data + in->off, n);
    in->off += n;
    p += n;
    len -= n;
  }
  return 0;
}

static int in_u32(struct archive_in *in, uint32_t *v) {
  unsigned char b[4];
  if (in_read(in, b, 4) < 0) return -1;
  *v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
  return 0;
}

static int in_u64(struct archive_in *in, uint64_t *v) {
  uint32_t hi, lo;
  if (in_u32(in, &hi) < 0 || in_u32(in, &lo) < 0) return -1;
  *v = ((uint64_t)hi << 32) | lo;
  return 0;
}

static int in_string(struct archive_in *in, char *dst, size_t cap) {
  uint32_t len;
  if (in_u32(in, &len) < 0 || len >= cap) return -1;
  if (in_read(in, dst, len) < 0) return -1;
  dst[len] = 0;
  return strlen(dst) == len ? 0 : -1;
}

static int safe_relpath(const char *rel) {
  if (!*rel || rel[0] == '/') return 0;
  for (const char *p = rel; p;) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.') || (n == 1 && p[0] == '.')) return 0;
    p = slash ? slash + 1 : NULL;
  }
  return 1;
}

/* Opens the directory that holds `rel`'s last component, walking from `root` without following symlinks. */
static int open_parent(int root, char *rel, const char **leaf) {
  int dfd = dup(root);
  char *p = rel;
  for (char *slash; (slash = strchr(p, '/'));) {
    *slash = 0;
    int next = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    *slash = '/';
    close(dfd);
    if (next < 0) return -1;
    dfd = next;
    p = slash + 1;
  }
  *leaf = p;
  return dfd;
}

struct dir_time {
  char *rel;
  struct timespec mtime;
};

static int unpack_record(struct archive_in *in, int root, char kind, struct dir_time **dirs, size_t *ndirs) {
  uint32_t mode, uid, gid;
  uint64_t mtime;
  static char rel[PATH_MAX];
  if (in_u32(in, &mode) < 0 || in_u32(in, &uid) < 0 || in_u32(in, &gid) < 0 || in_u64(in, &mtime) < 0 ||
      in_string(in, rel, sizeof rel) < 0)
    return EINVAL;
  if (!safe_relpath(rel)) return EINVAL;
  const char *leaf;
  int dfd = open_parent(root, rel, &leaf);
  if (dfd < 0) return errno;
  struct timespec times[2] = {{.tv_sec = (time_t)mtime}, {.tv_sec = (time_t)mtime}};
  int rc = 0;
  if (kind == 'D') {
    if (mkdirat(dfd, leaf, 0700) < 0 && errno != EEXIST) rc = errno;
    int fd = rc ? -1 : openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (!rc && fd < 0) rc = errno;
    if (fd >= 0) {
      fchown(fd, uid, gid);
      fchmod(fd, mode);
      close(fd);
      *dirs = xrealloc(*dirs, (*ndirs + 1) * sizeof **dirs);
      (*dirs)[(*ndirs)++] = (struct dir_time){xstrdup(rel), times[1]};
    }
  } else if (kind == 'F') {
    uint64_t size;
    if (in_u64(in, &size) < 0) rc = EINVAL;
    unlinkat(dfd, leaf, 0);
    int fd = rc ? -1 : openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (!rc && fd < 0) rc = errno;
    static char chunk[256 * 1024];
    while (!rc && size > 0) {
      size_t want = size < sizeof chunk ? (size_t)size : sizeof chunk;
      if (in_read(in, chunk, want) < 0) rc = EINVAL;
      else if (write_all(fd, chunk, want) < 0) rc = errno;
      size -= want;
    }
    if (fd >= 0) {
      fchown(fd, uid, gid);
      fchmod(fd, mode);
      futimens(fd, times);
      close(fd);
    }
  } else if (kind == 'L') {
    static char target[PATH_MAX];
    if (in_string(in, target, sizeof target) < 0) rc = EINVAL;
    unlinkat(dfd, leaf, 0);
    if (!rc && symlinkat(target, dfd, leaf) < 0) rc = errno;
    if (!rc) {
      fchownat(dfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW);
      utimensat(dfd, leaf, times, AT_SYMLINK_NOFOLLOW);
    }
  } else {
    rc = EINVAL;
  }
  close(dfd);
  return rc;
}

void do_unpack(struct conn *c, const char *path) {
  if (mkdir_parents(path, 0755) < 0) return (void)send_fail(c, errno, NULL);
  int root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return (void)send_fail(c, errno, NULL);
  struct archive_in in = {.c = c};
  struct dir_time *dirs = NULL;
  size_t ndirs = 0;
  uint64_t entries = 0;
  int rc = 0;
  for (;;) {
    char kind;
    if (in_read(&in, &kind, 1) < 0) {
      rc = EINVAL;
      break;
    }
    if (kind == 'E') break;
    if ((rc = unpack_record(&in, root, kind, &dirs, &ndirs))) break;
    entries++;
  }
  /* Directory times last: creating their children changed them. Deepest first. */
  for (size_t i = ndirs; i-- > 0;) {
    struct timespec times[2] = {dirs[i].mtime, dirs[i].mtime};
    utimensat(root, dirs[i].rel, times, AT_SYMLINK_NOFOLLOW);
    free(dirs[i].rel);
  }
  free(dirs);
  close(root);
  /* Read up to the client's end marker so the answer is not lost in a broken pipe. */
  char type;
  while (!in.ended && read_frame(c, &type, &in.frame) == 0 && type != 'z') {
  }
  if (rc) send_fail(c, rc, rc == EINVAL ? "malformed or unsafe archive" : NULL);
  else send_done(c, entries);
}
