/* File requests: read, write, list, stat, mkdir -p, recursive remove. Paths are bytes, never shell. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define IO_CHUNK (1024 * 1024)

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return path;
  if (slash[1]) return slash + 1;
  return path; /* "/" or a trailing slash: keep the whole path */
}

static void fail_errno(struct conn *c) { send_fail(c, errno, NULL); }

int mkdir_parents(const char *path, mode_t mode) {
  char *copy = xstrdup(path);
  size_t len = strlen(copy);
  while (len > 1 && copy[len - 1] == '/') copy[--len] = 0;
  for (char *p = copy + 1;; p++) {
    int last = *p == 0;
    if (*p == '/' || last) {
      char saved = *p;
      *p = 0;
      if (mkdir(copy, mode) < 0) {
        int err = errno;
        struct stat st;
        if (stat(copy, &st) < 0) {
          errno = err == EEXIST ? ENOTDIR : err;
          free(copy);
          return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
          errno = last ? EEXIST : ENOTDIR;
          free(copy);
          return -1;
        }
      }
      *p = saved;
      if (last) break;
    }
  }
  free(copy);
  return 0;
}

/* Filesystems whose files report a size that is not their content's (procfs reports 0, sysfs 4096, ...). */
static int size_unreliable(int fd, const struct stat *st) {
  if (st->st_size == 0) return 1;
  struct statfs fs;
  if (fstatfs(fd, &fs) < 0) return 1;
  switch ((unsigned long)fs.f_type) {
    case 0x9fa0:     /* proc */
    case 0x62656572: /* sysfs */
    case 0x27e0eb:   /* cgroup */
    case 0x63677270: /* cgroup2 */
    case 0x64626720: /* debugfs */
    case 0x74726163: /* tracefs */
    case 0x73636673: /* securityfs */
    case 0x62656570: /* configfs */
    case 0xcafe4a11: /* bpf */
    case 0x6165676c: /* pstore */
    case 0xde5e81e4: /* efivarfs */
      return 1;
    default:
      return 0;
  }
}

void do_read(struct conn *c, const char *path) {
  /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) return fail_errno(c);
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return (void)send_fail(c, EISDIR, NULL);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return (void)send_fail(c, ENODEV, "not a regular file (a device, FIFO or socket): it cannot be downloaded");
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  struct buf b = {0};
  stat_record(&b, &st, base_name(path), "");
  buf_u32(&b, size_unreliable(fd, &st) ? READ_SIZE_UNKNOWN : 0);
  if (send_frame(c, 'm', b.data, b.len) < 0) _exit(0);
  buf_free(&b);
  char *chunk = xmalloc(IO_CHUNK);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(fd, chunk, IO_CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(c);
    if (n == 0) break;
    if (send_frame(c, 'd', chunk, (size_t)n) < 0) _exit(0);
    total += (uint64_t)n;
  }
  send_done(c, total);
}

/* Opens a fresh temporary file next to `target`; its name is written to `tmp`. */
static int open_temp(const char *target, char *tmp, size_t tmplen) {
  char *dir = xstrdup(target);
  char *slash = strrchr(dir, '/');
  const char *name = slash ? slash + 1 : dir;
  if (slash == dir) dir[1] = 0;
  else if (slash) *slash = 0;
  else snprintf(dir, strlen(dir) + 1, ".");
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
    snprintf(tmp, tmplen, "%s/.%.64s.burrow-%x%lx%02x", dir, name, (unsigned)getpid(), (long)ts.tv_nsec, attempt);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  free(dir);
  return fd;
}

void do_write(struct conn *c, const char *requested, uint32_t mode) {
  char resolved[PATH_MAX];
  const char *path = requested;
  struct stat existing;
  int exists = lstat(path, &existing) == 0;
  if (exists && S_ISLNK(existing.st_mode)) {
    /* Write through a symlink the way `>` would; realpath resolves inside the sandbox's own mount namespace. */
    if (realpath(path, resolved)) path = resolved;
    exists = stat(path, &existing) == 0;
  }
  if (exists && S_ISDIR(existing.st_mode)) return (void)send_fail(c, EISDIR, NULL);

  char *parent = xstrdup(path);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = 0;
    if (mkdir_parents(parent, 0755) < 0) {
      free(parent);
      return fail_errno(c);
    }
  }
  free(parent);

  char tmp[PATH_MAX + 128];
  int direct = 0;
  int fd = open_temp(path, tmp, sizeof tmp);
  if (fd < 0 && exists && S_ISREG(existing.st_mode) && (errno == EROFS || errno == EACCES || errno == EPERM)) {
    /* A writable file in a read-only directory (e.g. a bind-mounted /etc/hosts): write it in place. */
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
    direct = 1;
  }
  if (fd < 0) return fail_errno(c);
  if (!direct) {
    fchmod(fd, exists ? (existing.st_mode & 07777) : (mode & 07777));
    if (exists && getuid() == 0) fchown(fd, existing.st_uid, existing.st_gid);
  }
  if (send_done(c, 0) < 0) {
    if (!direct) unlink(tmp);
    _exit(0);
  }

  struct copier copier;
  copier_init(&copier);
  uint64_t total = 0;
  int werr = 0;
  for (;;) {
    char type;
    uint32_t len;
    if (read_header(c, &type, &len) < 0) {
      if (!direct) unlink(tmp);
      _exit(0);
    }
    if (type == 'z') {
      /* `z` from the client carries no payload; skip one if it did. */
      if (len) {
        struct buf skip = {0};
        buf_reserve(&skip, len);
        if (read_exact(c->in, skip.data, len) < 0) _exit(0);
        buf_free(&skip);
      }
      break;
    }
    if (type != 'd') {
      if (!direct) unlink(tmp);
      return (void)send_fail(c, EINVAL, "unexpected frame during a file write");
    }
    /* After a failed write the rest is still read (and dropped), so the client reads our answer. */
    if (copy_payload_to_file(c, fd, len, &copier, &werr) < 0) {
      if (!direct) unlink(tmp);
      _exit(0);
    }
    total += len;
  }
  copier_free(&copier);
  if (werr) {
    if (!direct) unlink(tmp);
    close(fd);
    return (void)send_fail(c, werr, NULL);
  }
  if (close(fd) < 0 || (!direct && rename(tmp, path) < 0)) {
    int err = errno;
    if (!direct) unlink(tmp);
    return (void)send_fail(c, err, NULL);
  }
  send_done(c, total);
}

void do_list(struct conn *c, const char *path) {
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail_errno(c);
  DIR *dir = fdopendir(dfd);
  if (!dir) return fail_errno(c);
  uint64_t count = 0;
  struct buf b = {0};
  struct dirent *entry;
  while ((entry = readdir(dir))) {
    if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dfd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue; /* removed meanwhile */
    char target[PATH_MAX] = "";
    if (S_ISLNK(st.st_mode)) {
      ssize_t n = readlinkat(dfd, entry->d_name, target, sizeof target - 1);
      target[n > 0 ? n : 0] = 0;
    }
    b.len = 0;
    stat_record(&b, &st, entry->d_name, target);
    if (send_frame(c, 'm', b.data, b.len) < 0) _exit(0);
    count++;
  }
  closedir(dir);
  buf_free(&b);
  send_done(c, count);
}

void do_stat(struct conn *c, const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) return fail_errno(c);
  char target[PATH_MAX] = "";
  if (S_ISLNK(st.st_mode)) {
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
  }
  struct buf b = {0};
  stat_record(&b, &st, base_name(path), target);
  send_frame(c, 'm', b.data, b.len);
  buf_free(&b);
  send_done(c, 0);
}

void do_mkdir(struct conn *c, const char *path) {
  if (mkdir_parents(path, 0755) < 0) return fail_errno(c);
  send_done(c, 0);
}

/* Deepest directory level a recursive remove descends to; deeper trees fail with ELOOP. */
#define MAX_REMOVE_DEPTH 4096

/* Removes everything inside the directory `dfd` (closed on return), never following symlinks. */
static int remove_contents(int dfd, int depth) {
  if (depth >= MAX_REMOVE_DEPTH) {
    close(dfd);
    errno = ELOOP;
    return -1;
  }
  DIR *dir = fdopendir(dfd);
  if (!dir) {
    close(dfd);
    return -1;
  }
  int rc = 0;
  struct dirent *entry;
  while ((entry = readdir(dir))) {
    if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dfd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      int child = openat(dfd, entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child < 0 || remove_contents(child, depth + 1) < 0 || unlinkat(dfd, entry->d_name, AT_REMOVEDIR) < 0) rc = -1;
    } else if (unlinkat(dfd, entry->d_name, 0) < 0) {
      rc = -1;
    }
    if (rc < 0) break;
  }
  int err = errno;
  closedir(dir);
  errno = err;
  return rc;
}

void do_remove(struct conn *c, const char *path) {
  struct stat st;
  if (lstat(path, &st) < 0) return fail_errno(c);
  if (S_ISDIR(st.st_mode)) {
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0 || remove_contents(dfd, 0) < 0 || rmdir(path) < 0) return fail_errno(c);
  } else if (unlink(path) < 0) {
    return fail_errno(c);
  }
  send_done(c, 0);
}
