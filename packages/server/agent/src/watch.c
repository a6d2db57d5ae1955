/*
 * The watch request: inotify inside the sandbox, as `v` frames (PROTOCOL.md, "Watch"). Recursive watches follow
 * directories as they appear. The agent's own temporary files (a write's `.<name>.burrow-<hex>`) are not reported:
 * a write shows as the target's name appearing. When the client reads slowly, the kernel's bounded queue overflows
 * and the client gets an overflow event, never unbounded memory here.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define WATCH_MASK                                                                                              \
  (IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | \
   IN_DONT_FOLLOW | IN_EXCL_UNLINK)
/* Directories watched at most per request (each costs a kernel inotify watch). */
#define MAX_WATCHES 8192
#define MAX_WATCH_DEPTH 64

enum { EV_CREATE = 1, EV_WRITE = 2, EV_REMOVE = 3, EV_RENAME = 4, EV_CHMOD = 5, EV_OVERFLOW = 6 };

struct watched {
  int wd;
  char *path;
};

struct watch_state {
  int fd;
  int recursive;
  struct watched *dirs;
  size_t count, cap;
  /* The last write reported, so a stream of writes to one file is one event until something else happens. */
  int last_wd;
  char last_name[NAME_MAX + 1];
};

static const char *path_of(struct watch_state *w, int wd) {
  for (size_t i = 0; i < w->count; i++)
    if (w->dirs[i].wd == wd) return w->dirs[i].path;
  return NULL;
}

static void add_dir(struct watch_state *w, const char *path, int depth) {
  if (w->count >= MAX_WATCHES) return;
  int wd = inotify_add_watch(w->fd, path, WATCH_MASK | IN_ONLYDIR);
  if (wd < 0) return;
  if (!path_of(w, wd)) {
    if (w->count == w->cap) {
      w->cap = w->cap ? w->cap * 2 : 16;
      w->dirs = xrealloc(w->dirs, w->cap * sizeof *w->dirs);
    }
    w->dirs[w->count++] = (struct watched){wd, xstrdup(path)};
  }
  if (!w->recursive || depth >= MAX_WATCH_DEPTH) return;
  DIR *dir = opendir(path);
  if (!dir) return;
  struct dirent *entry;
  char *child = xmalloc(PATH_MAX);
  while ((entry = readdir(dir))) {
    if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, "..")) continue;
    if (entry->d_type != DT_DIR && entry->d_type != DT_UNKNOWN) continue;
    if ((size_t)snprintf(child, PATH_MAX, "%s/%s", strcmp(path, "/") ? path : "", entry->d_name) >= PATH_MAX) continue;
    struct stat st;
    if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) add_dir(w, child, depth + 1);
  }
  free(child);
  closedir(dir);
}

static void forget_dir(struct watch_state *w, int wd) {
  for (size_t i = 0; i < w->count; i++) {
    if (w->dirs[i].wd != wd) continue;
    free(w->dirs[i].path);
    w->dirs[i] = w->dirs[--w->count];
    return;
  }
}

/* `.<name>.burrow-<hex>`: a file a write request is filling before it is renamed over its target. */
static int agent_temp_name(const char *name) {
  const char *mark = strstr(name, ".burrow-");
  if (name[0] != '.' || !mark || mark == name) return 0;
  for (const char *p = mark + 8; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
  return mark[8] != 0;
}

static void send_event(struct conn *c, uint32_t kind, int is_dir, const char *dir, const char *name) {
  struct buf b = {0};
  char path[PATH_MAX];
  if (name && *name) {
    if ((size_t)snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", name) >= sizeof path) return;
  } else {
    snprintf(path, sizeof path, "%s", dir ? dir : "");
  }
  buf_u32(&b, kind);
  buf_u32(&b, is_dir ? 1 : 0);
  buf_cstr(&b, path);
  if (send_frame(c, 'v', b.data, b.len) < 0) _exit(0);
  buf_free(&b);
}

static void handle_event(struct conn *c, struct watch_state *w, const struct inotify_event *ev) {
  if (ev->mask & IN_Q_OVERFLOW) {
    send_event(c, EV_OVERFLOW, 0, "", NULL);
    w->last_wd = -1;
    return;
  }
  if (ev->mask & IN_IGNORED) {
    forget_dir(w, ev->wd);
    return;
  }
  const char *dir = path_of(w, ev->wd);
  if (!dir) return;
  const char *name = ev->len ? ev->name : "";
  int is_dir = (ev->mask & IN_ISDIR) != 0;
  if (*name && agent_temp_name(name)) return;
  uint32_t kind = 0;
  if (ev->mask & (IN_CREATE | IN_MOVED_TO)) kind = EV_CREATE;
  else if (ev->mask & IN_MODIFY) kind = EV_WRITE;
  else if (ev->mask & IN_DELETE) kind = EV_REMOVE;
  else if (ev->mask & IN_MOVED_FROM) kind = EV_RENAME;
  else if (ev->mask & IN_ATTRIB) kind = EV_CHMOD;
  else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) kind = ev->mask & IN_DELETE_SELF ? EV_REMOVE : EV_RENAME;
  if (!kind) return;
  if (kind == EV_WRITE && ev->wd == w->last_wd && !strcmp(name, w->last_name)) return;
  w->last_wd = kind == EV_WRITE ? ev->wd : -1;
  snprintf(w->last_name, sizeof w->last_name, "%s", name);
  /* A directory appearing in a recursive watch is watched too. */
  if (kind == EV_CREATE && is_dir && w->recursive && *name) {
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", name) < sizeof path)
      add_dir(w, path, 1);
  }
  send_event(c, kind, is_dir, dir, name);
}

void do_watch(struct conn *c, const char *path, uint32_t flags) {
  struct stat st;
  if (stat(path, &st) < 0) return (void)send_fail(c, errno, NULL);
  if (!S_ISDIR(st.st_mode)) return (void)send_fail(c, ENOTDIR, NULL);
  struct watch_state w = {.recursive = (flags & 1) != 0, .last_wd = -1};
  w.fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (w.fd < 0) return (void)send_fail(c, errno, NULL);
  add_dir(&w, path, 0);
  if (w.count == 0) return (void)send_fail(c, errno ? errno : EACCES, NULL);
  if (send_done(c, w.count) < 0) return;
  char *events = xmalloc(64 * 1024);
  for (;;) {
    struct pollfd fds[2] = {{.fd = w.fd, .events = POLLIN}, {.fd = c->in, .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return; /* the client sent something or went away: a watch ends when its client does */
    ssize_t n = read(w.fd, events, 64 * 1024);
    if (n <= 0) continue;
    for (ssize_t off = 0; off < n;) {
      const struct inotify_event *ev = (const struct inotify_event *)(events + off);
      handle_event(c, &w, ev);
      off += (ssize_t)(sizeof *ev + ev->len);
    }
  }
}
