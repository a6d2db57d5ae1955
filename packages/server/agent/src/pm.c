/*
 * The process manager (PROTOCOL.md, "Processes"): background processes owned by the agent's init process, so
 * they outlive the request that started them, its client, and a server restart. It runs inside init's event
 * loop and never blocks on a client: every connection it serves is non-blocking with a bounded output buffer.
 *
 * Each process runs under a keeper (a child of init that is a subreaper), so the whole tree can be killed even
 * after descendants daemonise. Output is kept in a ring per stream; readers are cursors into it, and a reader
 * that falls behind the ring learns how many bytes it missed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define MAX_PROCS 1024
#define MAX_EXITED 64
#define MAX_CLIENTS 1024
#define CHUNK (64 * 1024)
/* Input queued for one process and not yet taken by it. */
#define MAX_PENDING_INPUT (4u * 1024 * 1024)
#define MIN_RING 1024u
#define MAX_RING (64u * 1024 * 1024)

enum { STREAM_OUT = 0, STREAM_ERR = 1 };
enum { CLIENT_ONESHOT, CLIENT_ATTACH, CLIENT_WAIT };

struct ring {
  unsigned char *data;
  size_t cap;
  uint64_t start, end; /* absolute offsets of the bytes kept: [start, end) */
};

struct proc {
  char id[40];
  char *tag;
  char **argv;
  uint32_t argc;
  pid_t keeper, pid;
  int fds[2];   /* output: stdout and stderr pipes, or the terminal's master (stdout only) */
  int in_fd;    /* stdin pipe, or a dup of the master; -1 when closed or absent */
  int status_fd; /* from the keeper: the command's pid, then its wait status */
  int pty, has_stdin;
  struct ring rings[2];
  struct buf input;
  size_t input_off;
  int input_eof; /* close stdin once the queued input is written */
  int running, status, timed_out, kill_sent;
  int64_t started_ms, ended_ms; /* wall clock, for the record */
  int64_t deadline;             /* monotonic; 0 = none */
  uint64_t seq;                 /* start order, to forget the oldest exited first */
  int readers;
};

struct client {
  int fd;
  int kind;
  struct proc *proc;
  uint64_t cursor[2];
  struct buf out;
  size_t out_off;
  int closing; /* close once `out` is flushed */
};

static struct proc *procs[MAX_PROCS];
static struct client *clients[MAX_CLIENTS];
static uint64_t next_seq;
static int listen_fd = -1;
/* The user a start request's empty user means: the image's user (init's --user). */
static const char *default_user = "";

void pm_set_default_user(const char *user) { default_user = user; }

/* In a child of init that is not a keeper (a request handler, the main process): drop the manager's descriptors. */
void pm_close_inherited(void) {
  if (listen_fd >= 0) close(listen_fd);
  for (int i = 0; i < MAX_PROCS; i++) {
    struct proc *p = procs[i];
    if (!p) continue;
    for (int s = 0; s < 2; s++)
      if (p->fds[s] >= 0) close(p->fds[s]);
    if (p->in_fd >= 0) close(p->in_fd);
    if (p->status_fd >= 0) close(p->status_fd);
  }
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (clients[i]) close(clients[i]->fd);
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* ---------------------------------------------------------------- rings */

static void ring_push(struct ring *r, const unsigned char *data, size_t len) {
  if (!r->data) r->data = xmalloc(r->cap);
  if (len > r->cap) {
    r->end += len - r->cap;
    data += len - r->cap;
    len = r->cap;
  }
  for (size_t done = 0; done < len;) {
    size_t at = (size_t)(r->end % r->cap);
    size_t n = r->cap - at < len - done ? r->cap - at : len - done;
    memcpy(r->data + at, data + done, n);
    done += n;
    r->end += n;
  }
  if (r->end - r->start > r->cap) r->start = r->end - r->cap;
}

/* Up to `max` bytes at `from` (contiguous in memory); `from` must be within [start, end). */
static size_t ring_peek(const struct ring *r, uint64_t from, const unsigned char **data, size_t max) {
  size_t at = (size_t)(from % r->cap);
  size_t n = (size_t)(r->end - from);
  if (n > r->cap - at) n = r->cap - at;
  if (n > max) n = max;
  *data = r->data + at;
  return n;
}

/* ---------------------------------------------------------------- records and frames */

static void frame_into(struct buf *out, char type, const void *payload, size_t len) {
  unsigned char header[5] = {(unsigned char)type, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                             (unsigned char)(len >> 8), (unsigned char)len};
  buf_put(out, header, 5);
  buf_put(out, payload, len);
}

static int exit_code(const struct proc *p) {
  if (p->timed_out) return 124;
  if (WIFSIGNALED(p->status)) return 128 + WTERMSIG(p->status);
  return WEXITSTATUS(p->status);
}

static void record_into(struct buf *out, const struct proc *p) {
  struct buf b = {0};
  buf_cstr(&b, p->id);
  buf_cstr(&b, p->tag);
  buf_u32(&b, (uint32_t)p->pid);
  uint32_t flags = (p->running ? 1u : 0) | (p->pty ? 2u : 0) | (p->running && p->in_fd >= 0 ? 4u : 0) |
                   (p->timed_out ? 8u : 0);
  buf_u32(&b, flags);
  buf_u32(&b, p->running ? 0 : (uint32_t)exit_code(p));
  buf_u64(&b, (uint64_t)p->started_ms);
  buf_u64(&b, p->running ? 0 : (uint64_t)p->ended_ms);
  buf_u64(&b, p->rings[STREAM_OUT].start);
  buf_u64(&b, p->rings[STREAM_ERR].start);
  buf_u32(&b, p->argc);
  for (uint32_t i = 0; i < p->argc; i++) buf_cstr(&b, p->argv[i]);
  frame_into(out, 'q', b.data, b.len);
  buf_free(&b);
}

static void exit_into(struct buf *out, const struct proc *p) {
  struct buf b = {0};
  int signalled = !p->timed_out && WIFSIGNALED(p->status);
  buf_u32(&b, (uint32_t)exit_code(p));
  buf_u32(&b, (p->timed_out ? 1u : 0) | (signalled ? 2u : 0));
  buf_u32(&b, signalled ? (uint32_t)WTERMSIG(p->status) : 0);
  frame_into(out, 'x', b.data, b.len);
  buf_free(&b);
}

static void fail_into(struct buf *out, int err, const char *message) {
  struct buf b = {0};
  buf_u32(&b, (uint32_t)err);
  buf_cstr(&b, message ? message : strerror(err));
  frame_into(out, 'f', b.data, b.len);
  buf_free(&b);
}

static void done_into(struct buf *out) {
  unsigned char zero[8] = {0};
  frame_into(out, 'z', zero, 8);
}

/* ---------------------------------------------------------------- table */

static struct proc *find(const char *id) {
  for (int i = 0; i < MAX_PROCS; i++)
    if (procs[i] && !strcmp(procs[i]->id, id)) return procs[i];
  return NULL;
}

static void free_proc(struct proc *p) {
  for (int s = 0; s < 2; s++) {
    if (p->fds[s] >= 0) close(p->fds[s]);
    free(p->rings[s].data);
  }
  if (p->in_fd >= 0) close(p->in_fd);
  if (p->status_fd >= 0) close(p->status_fd);
  for (uint32_t i = 0; i < p->argc; i++) free(p->argv[i]);
  free(p->argv);
  free(p->tag);
  buf_free(&p->input);
  free(p);
}

/* Keeps at most MAX_EXITED exited processes, forgetting the oldest that nobody is reading. */
static void forget_exited(void) {
  for (;;) {
    int exited = 0, oldest = -1;
    for (int i = 0; i < MAX_PROCS; i++) {
      if (!procs[i] || procs[i]->running) continue;
      exited++;
      if (procs[i]->readers == 0 && (oldest < 0 || procs[i]->seq < procs[oldest]->seq)) oldest = i;
    }
    if (exited <= MAX_EXITED || oldest < 0) return;
    free_proc(procs[oldest]);
    procs[oldest] = NULL;
  }
}

/* ---------------------------------------------------------------- clients */

static struct client *add_client(int fd, int kind, struct proc *p) {
  for (int i = 0; i < MAX_CLIENTS; i++) {
    if (clients[i]) continue;
    struct client *c = xmalloc(sizeof *c);
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->kind = kind;
    c->proc = p;
    set_nonblock(fd);
    if (p && kind == CLIENT_ATTACH) p->readers++;
    clients[i] = c;
    return c;
  }
  return NULL;
}

static void drop_client(int index) {
  struct client *c = clients[index];
  if (c->proc && c->kind == CLIENT_ATTACH) c->proc->readers--;
  close(c->fd);
  buf_free(&c->out);
  free(c);
  clients[index] = NULL;
}

/* A one-shot answer: queued, flushed by the loop, then the connection closes. */
static void answer(int fd, struct buf *out) {
  struct client *c = add_client(fd, CLIENT_ONESHOT, NULL);
  if (!c) {
    close(fd);
    buf_free(out);
    return;
  }
  c->out = *out;
  c->closing = 1;
}

static void answer_fail(int fd, int err, const char *message) {
  struct buf out = {0};
  fail_into(&out, err, message);
  answer(fd, &out);
}

/* Refills an attached reader's buffer from the rings once it drained; `x` after both streams are caught up. */
static void feed(struct client *c) {
  struct proc *p = c->proc;
  if (c->out.len > c->out_off || c->closing) return;
  c->out.len = c->out_off = 0;
  for (int s = 0; s < 2; s++) {
    struct ring *r = &p->rings[s];
    if (c->cursor[s] < r->start) {
      struct buf b = {0};
      buf_u32(&b, s == STREAM_OUT ? 1 : 2);
      buf_u64(&b, r->start - c->cursor[s]);
      frame_into(&c->out, 'y', b.data, b.len);
      buf_free(&b);
      c->cursor[s] = r->start;
    }
    if (c->cursor[s] < r->end) {
      const unsigned char *data;
      size_t n = ring_peek(r, c->cursor[s], &data, CHUNK);
      frame_into(&c->out, s == STREAM_OUT ? 'o' : 'r', data, n);
      c->cursor[s] += n;
    }
  }
  int caught_up = c->cursor[0] == p->rings[0].end && c->cursor[1] == p->rings[1].end;
  if (!p->running && p->fds[0] < 0 && p->fds[1] < 0 && caught_up && c->out.len == 0) {
    exit_into(&c->out, p);
    c->closing = 1;
  }
}

/* ---------------------------------------------------------------- requests */

static void start_process(int fd, struct reader *r, const char *user) {
  char *id = NULL, *tag = NULL;
  struct spawn_req req = {0};
  uint32_t timeout_ms, flags, cols, rows, ring;
  if (rd_cstr(r, &id) < 0 || rd_cstr(r, &tag) < 0 || parse_command(r, &req) < 0 || rd_u32(r, &timeout_ms) < 0 ||
      rd_u32(r, &flags) < 0 || rd_u32(r, &cols) < 0 || rd_u32(r, &rows) < 0 || rd_u32(r, &ring) < 0 ||
      strlen(id) >= sizeof((struct proc *)0)->id || strncmp(id, "proc_", 5) != 0 ||
      ((flags & 2) && (!cols || !rows || cols > 1000 || rows > 1000)) || ring < MIN_RING || ring > MAX_RING) {
    answer_fail(fd, EINVAL, "malformed start request");
    goto out;
  }
  if (find(id)) {
    answer_fail(fd, EEXIST, "a process with this id exists");
    goto out;
  }
  forget_exited();
  int slot = -1;
  for (int i = 0; i < MAX_PROCS && slot < 0; i++)
    if (!procs[i]) slot = i;
  if (slot < 0) {
    answer_fail(fd, EAGAIN, "too many processes in this sandbox");
    goto out;
  }
  req.user = user;
  int pty = (flags & 2) != 0, with_stdin = pty || (flags & 1);
  struct spawn_io io;
  int stage[2] = {-1, -1}, status[2] = {-1, -1};
  if (spawn_io_open(&io, with_stdin, pty, cols, rows) < 0 || pipe2(stage, O_CLOEXEC) < 0 ||
      pipe2(status, O_CLOEXEC) < 0) {
    answer_fail(fd, errno, NULL);
    spawn_io_close(&io);
    goto out;
  }
  pid_t keeper = fork();
  if (keeper < 0) {
    answer_fail(fd, errno, NULL);
    spawn_io_close(&io);
    goto out;
  }
  if (keeper == 0) {
    close(stage[0]);
    close(status[0]);
    keeper_main(&req, &io, stage[1], status[1]);
  }
  spawn_io_parent(&io);
  close(stage[1]);
  close(status[1]);
  struct spawn_failure failure;
  int failed = spawn_stage(stage[0], &failure) && failure.stage != 'x';
  close(stage[0]);
  pid_t pid = 0;
  unsigned char pid_bytes[4];
  if (!failed && read_exact(status[0], pid_bytes, 4) == 0)
    pid = (pid_t)(((uint32_t)pid_bytes[0] << 24) | ((uint32_t)pid_bytes[1] << 16) | ((uint32_t)pid_bytes[2] << 8) |
                  pid_bytes[3]);
  if (failed || pid <= 0) {
    /* It never ran (no such user, no such directory): the keeper ends by itself and is reaped by the loop. */
    answer_fail(fd, failed ? failure.err : EIO, failed && failure.message[0] ? failure.message : NULL);
    close(status[0]);
    spawn_io_close(&io);
    goto out;
  }
  struct proc *p = xmalloc(sizeof *p);
  memset(p, 0, sizeof *p);
  snprintf(p->id, sizeof p->id, "%s", id);
  p->tag = tag;
  tag = NULL;
  p->argv = req.argv;
  p->argc = req.argc;
  req.argv = NULL;
  p->keeper = keeper;
  p->pid = pid;
  p->pty = pty;
  p->has_stdin = with_stdin;
  p->fds[STREAM_OUT] = pty ? io.master : io.out[0];
  p->fds[STREAM_ERR] = pty ? -1 : io.err[0];
  p->in_fd = pty ? dup(io.master) : io.in[1];
  if (pty && !(flags & 1)) {
    /* A terminal always has an input side; without stdin asked for, none is taken. */
    close(p->in_fd);
    p->in_fd = -1;
  }
  p->status_fd = status[0];
  for (int s = 0; s < 2; s++) {
    p->rings[s].cap = ring;
    if (p->fds[s] >= 0) set_nonblock(p->fds[s]);
  }
  if (p->in_fd >= 0) set_nonblock(p->in_fd);
  set_nonblock(p->status_fd);
  p->running = 1;
  p->started_ms = wall_ms();
  p->deadline = timeout_ms ? mono_ms() + timeout_ms : 0;
  p->seq = next_seq++;
  procs[slot] = p;
  struct buf out = {0};
  record_into(&out, p);
  done_into(&out);
  answer(fd, &out);
out:
  free(id);
  free(tag);
  spawn_req_free(&req);
}

/* Kills the whole tree (the keeper does it: it is the subreaper of every descendant). */
static void kill_tree_of(struct proc *p) {
  if (p->kill_sent || p->keeper <= 0) return;
  p->kill_sent = 1;
  kill(p->keeper, SIGUSR1);
}

static void simple_request(int fd, char type, struct reader *r) {
  char *id = NULL;
  if (rd_cstr(r, &id) < 0) return answer_fail(fd, EINVAL, "malformed process request");
  struct proc *p = find(id);
  free(id);
  if (!p) return answer_fail(fd, ENOENT, "no such process");
  struct buf out = {0};
  if (type == 'G') {
    record_into(&out, p);
    done_into(&out);
    return answer(fd, &out);
  }
  if (type == 'T') {
    uint32_t flags;
    if (rd_u32(r, &flags) < 0) return answer_fail(fd, EINVAL, "malformed attach request");
    struct client *c = add_client(fd, CLIENT_ATTACH, p);
    if (!c) return answer_fail(fd, EAGAIN, "too many readers");
    record_into(&c->out, p);
    for (int s = 0; s < 2; s++) c->cursor[s] = (flags & 1) ? 0 : p->rings[s].end;
    return;
  }
  if (type == 'Q') {
    if (!p->running) {
      record_into(&out, p);
      return answer(fd, &out);
    }
    if (!add_client(fd, CLIENT_WAIT, p)) answer_fail(fd, EAGAIN, "too many waiters");
    return;
  }
  if (type == 'I') {
    uint32_t len, flags;
    if (rd_u32(r, &len) < 0 || r->len - r->off < len) return answer_fail(fd, EINVAL, "malformed input request");
    const unsigned char *bytes = r->data + r->off;
    r->off += len;
    if (rd_u32(r, &flags) < 0) return answer_fail(fd, EINVAL, "malformed input request");
    if (!p->running) return answer_fail(fd, EPIPE, "the process has exited");
    if (p->in_fd < 0 || p->input_eof) return answer_fail(fd, EBADF, "the process does not take input");
    if (p->input.len - p->input_off + len > MAX_PENDING_INPUT)
      return answer_fail(fd, EAGAIN, "the process is not reading its input");
    if (p->input_off == p->input.len) p->input.len = p->input_off = 0;
    buf_put(&p->input, bytes, len);
    if (flags & 1) {
      if (p->pty) buf_put(&p->input, "\x04", 1); /* a terminal's end of input is Ctrl-D */
      else p->input_eof = 1;
    }
    if (p->input_eof && p->input_off == p->input.len) {
      /* Nothing waiting to be written: end of input now (the loop polls stdin only while input waits). */
      close(p->in_fd);
      p->in_fd = -1;
    }
    done_into(&out);
    return answer(fd, &out);
  }
  if (type == 'K') {
    uint32_t sig, flags;
    if (rd_u32(r, &sig) < 0 || rd_u32(r, &flags) < 0 || sig == 0 || sig > 64)
      return answer_fail(fd, EINVAL, "malformed signal request");
    if (p->running) {
      if (flags & 1) kill_tree_of(p);
      else if (kill(-p->pid, (int)sig) < 0) kill(p->pid, (int)sig);
    }
    done_into(&out);
    return answer(fd, &out);
  }
  if (type == 'Y') {
    uint32_t cols, rows;
    if (rd_u32(r, &cols) < 0 || rd_u32(r, &rows) < 0 || !cols || !rows || cols > 1000 || rows > 1000)
      return answer_fail(fd, EINVAL, "malformed resize request");
    if (!p->pty) return answer_fail(fd, ENOTTY, "the process has no terminal");
    if (p->running && p->fds[STREAM_OUT] >= 0) pty_resize(p->fds[STREAM_OUT], cols, rows);
    done_into(&out);
    return answer(fd, &out);
  }
  answer_fail(fd, EINVAL, "unknown request type");
}

int pm_handles(char type) { return type && strchr("BJGTQIKY", type) != NULL; }

void pm_request(int fd, char type, struct buf *payload) {
  struct reader r = {payload->data, payload->len, 0};
  char *user;
  if (rd_cstr(&r, &user) < 0) return answer_fail(fd, EINVAL, "malformed request");
  if (strlen(user) >= MAX_USER_SPEC) {
    free(user);
    return answer_fail(fd, ENAMETOOLONG, "the user is too long");
  }
  if (type == 'B') start_process(fd, &r, *user ? user : default_user);
  else if (type == 'J') {
    struct buf out = {0};
    for (int i = 0; i < MAX_PROCS; i++)
      if (procs[i]) record_into(&out, procs[i]);
    done_into(&out);
    answer(fd, &out);
  } else {
    simple_request(fd, type, &r);
  }
  free(user);
}

/* ---------------------------------------------------------------- the loop's part */

int pm_listen(const char *name) {
  if (!name || !*name) return -1;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len = strlen(name);
  if (len + 1 >= sizeof addr.sun_path) return -1;
  memcpy(addr.sun_path + 1, name, len); /* abstract: no file the sandbox could replace */
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  socklen_t addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
  if (bind(fd, (struct sockaddr *)&addr, addrlen) < 0 || listen(fd, 64) < 0) {
    close(fd);
    return -1;
  }
  listen_fd = fd;
  return fd;
}

int pm_connect(const char *name) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len = strlen(name);
  if (len + 1 >= sizeof addr.sun_path) return -1;
  memcpy(addr.sun_path + 1, name, len);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  socklen_t addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
  if (connect(fd, (struct sockaddr *)&addr, addrlen) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* A connection on the in-sandbox socket (the exec transport's way in): root only, one request. */
static void accept_local(void) {
  int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) return;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0) {
    close(fd);
    return;
  }
  char type;
  struct buf payload = {0};
  struct conn c = {fd, fd};
  struct timeval limit = {.tv_sec = 2};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  if (read_frame(&c, &type, &payload) < 0 || !pm_handles(type)) {
    close(fd);
  } else {
    pm_request(fd, type, &payload);
  }
  buf_free(&payload);
}

int pm_pollfds(struct pollfd *fds, int max, struct pm_slot *slots) {
  int n = 0;
  if (listen_fd >= 0 && n < max) {
    slots[n] = (struct pm_slot){PM_LISTENER, -1, 0};
    fds[n++] = (struct pollfd){.fd = listen_fd, .events = POLLIN};
  }
  for (int i = 0; i < MAX_PROCS; i++) {
    struct proc *p = procs[i];
    if (!p) continue;
    for (int s = 0; s < 2 && n < max; s++) {
      if (p->fds[s] < 0) continue;
      slots[n] = (struct pm_slot){PM_OUTPUT, i, s};
      fds[n++] = (struct pollfd){.fd = p->fds[s], .events = POLLIN};
    }
    if (p->status_fd >= 0 && n < max) {
      slots[n] = (struct pm_slot){PM_STATUS, i, 0};
      fds[n++] = (struct pollfd){.fd = p->status_fd, .events = POLLIN};
    }
    if (p->in_fd >= 0 && p->input.len > p->input_off && n < max) {
      slots[n] = (struct pm_slot){PM_INPUT, i, 0};
      fds[n++] = (struct pollfd){.fd = p->in_fd, .events = POLLOUT};
    }
  }
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = clients[i];
    if (!c || n >= max) continue;
    if (c->kind == CLIENT_ATTACH) feed(c);
    short events = POLLIN | POLLRDHUP;
    if (c->out.len > c->out_off) events |= POLLOUT;
    slots[n] = (struct pm_slot){PM_CLIENT, i, 0};
    fds[n++] = (struct pollfd){.fd = c->fd, .events = events};
  }
  return n;
}

int pm_timeout(int64_t now) {
  int64_t soonest = -1;
  for (int i = 0; i < MAX_PROCS; i++) {
    struct proc *p = procs[i];
    if (!p || !p->running || !p->deadline || p->kill_sent) continue;
    int64_t left = p->deadline > now ? p->deadline - now : 0;
    if (soonest < 0 || left < soonest) soonest = left;
  }
  return soonest > 0x7fffffff ? 0x7fffffff : (int)soonest;
}

static void finish(struct proc *p, int status) {
  p->running = 0;
  p->status = status;
  p->ended_ms = wall_ms();
  /* Take what is already in the pipes, then stop reading: a daemonised descendant may hold them open forever. */
  for (int s = 0; s < 2; s++) {
    if (p->fds[s] < 0) continue;
    unsigned char chunk[CHUNK];
    for (int rounds = 0; rounds < 256; rounds++) {
      ssize_t n = read(p->fds[s], chunk, sizeof chunk);
      if (n <= 0) break;
      ring_push(&p->rings[s], chunk, (size_t)n);
    }
    close(p->fds[s]);
    p->fds[s] = -1;
  }
  if (p->in_fd >= 0) close(p->in_fd);
  p->in_fd = -1;
  for (int i = 0; i < MAX_CLIENTS; i++) {
    struct client *c = clients[i];
    if (!c || c->proc != p || c->kind != CLIENT_WAIT) continue;
    record_into(&c->out, p);
    c->closing = 1;
  }
}

static void on_output(struct proc *p, int s) {
  unsigned char chunk[CHUNK];
  ssize_t n = read(p->fds[s], chunk, sizeof chunk);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    /* End of output (EIO on a terminal whose other side closed). */
    close(p->fds[s]);
    p->fds[s] = -1;
    return;
  }
  ring_push(&p->rings[s], chunk, (size_t)n);
}

static void on_status(struct proc *p) {
  unsigned char bytes[4];
  ssize_t n = read(p->status_fd, bytes, sizeof bytes);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n == 4 && p->running) {
    finish(p, (int)(((uint32_t)bytes[0] << 24) | ((uint32_t)bytes[1] << 16) | ((uint32_t)bytes[2] << 8) | bytes[3]));
    return;
  }
  /* The keeper is gone (its descendants all ended, or it was killed). */
  close(p->status_fd);
  p->status_fd = -1;
  if (p->running) finish(p, SIGKILL); /* raw wait status of a SIGKILL death */
}

static void on_input(struct proc *p) {
  ssize_t w = write(p->in_fd, p->input.data + p->input_off, p->input.len - p->input_off);
  if (w > 0) p->input_off += (size_t)w;
  else if (w < 0 && errno != EAGAIN && errno != EINTR) p->input_off = p->input.len; /* it closed its input */
  if (p->input_off == p->input.len) {
    p->input.len = p->input_off = 0;
    if (p->input_eof) {
      close(p->in_fd);
      p->in_fd = -1;
    }
  }
}

static void on_client(int index, short revents) {
  struct client *c = clients[index];
  if (revents & POLLOUT) {
    ssize_t w = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) c->out_off += (size_t)w;
    else if (w < 0 && errno != EAGAIN && errno != EINTR) return drop_client(index);
  }
  if (revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) {
    /* Clients of the process manager only listen: anything they send, or their going away, ends them. */
    char scratch[256];
    ssize_t n = recv(c->fd, scratch, sizeof scratch, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || n > 0) return drop_client(index);
  }
  if (c->closing && c->out_off == c->out.len) drop_client(index);
}

void pm_handle(const struct pollfd *fds, const struct pm_slot *slots, int n) {
  for (int i = 0; i < n; i++) {
    if (!fds[i].revents) continue;
    const struct pm_slot *slot = &slots[i];
    if (slot->kind == PM_LISTENER) {
      accept_local();
      continue;
    }
    if (slot->kind == PM_CLIENT) {
      if (clients[slot->index]) on_client(slot->index, fds[i].revents);
      continue;
    }
    struct proc *p = procs[slot->index];
    if (!p) continue;
    if (slot->kind == PM_OUTPUT && p->fds[slot->stream] == fds[i].fd) on_output(p, slot->stream);
    else if (slot->kind == PM_STATUS && p->status_fd == fds[i].fd) on_status(p);
    else if (slot->kind == PM_INPUT && p->in_fd == fds[i].fd) on_input(p);
  }
  int64_t now = mono_ms();
  for (int i = 0; i < MAX_PROCS; i++) {
    struct proc *p = procs[i];
    if (p && p->running && p->deadline && now >= p->deadline && !p->kill_sent) {
      p->timed_out = 1;
      kill_tree_of(p);
    }
  }
}

void pm_child_exited(pid_t pid) {
  for (int i = 0; i < MAX_PROCS; i++)
    if (procs[i] && procs[i]->keeper == pid) procs[i]->keeper = 0;
}
