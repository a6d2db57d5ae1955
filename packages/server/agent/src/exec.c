/*
 * The exec request: runs argv in a new session, relays stdin/stdout/stderr as frames, honours signals and the
 * timeout, and kills every descendant when the timeout fires or the client goes away.
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
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

#define DRAIN_IDLE_MS 200
#define LINGER_MS 2000
#define DRAIN_MAX_MS 2000
#define READ_CHUNK (64 * 1024)

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parent pid of `pid` from /proc/<pid>/stat, or -1. */
static pid_t parent_of(pid_t pid) {
  char path[64], data[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, data, sizeof data - 1);
  close(fd);
  if (n <= 0) return -1;
  data[n] = 0;
  char *end = strrchr(data, ')'); /* the command name may hold spaces and parentheses */
  if (!end) return -1;
  int ppid;
  if (sscanf(end + 1, " %*c %d", &ppid) != 1) return -1;
  return ppid;
}

/* SIGKILLs every process descending from this one; returns how many were signalled. */
static int kill_descendants(void) {
  pid_t self = getpid();
  int killed = 0;
  DIR *proc = opendir("/proc");
  if (!proc) return 0;
  struct dirent *entry;
  while ((entry = readdir(proc))) {
    char *end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end || pid <= 0 || pid == self) continue;
    for (pid_t p = (pid_t)pid, depth = 0; p > 1 && depth < 4096; depth++) {
      p = parent_of(p);
      if (p == self) {
        if (kill((pid_t)pid, SIGKILL) == 0) killed++;
        break;
      }
    }
  }
  closedir(proc);
  return killed;
}

/* Kills the command's group and all descendants (we are their subreaper), reaping until none is left. */
void kill_tree(pid_t pgid) {
  if (pgid > 0) kill(-pgid, SIGKILL);
  for (int round = 0; round < 100; round++) {
    int killed = kill_descendants();
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    if (killed == 0) break;
    usleep(2000);
  }
}

struct exec_request {
  struct spawn_req cmd;
  uint32_t timeout_ms;
  uint32_t flags; /* bit 0: the client sends stdin; bit 1: a terminal of cols x rows */
  uint32_t cols, rows;
};

static int parse_exec(struct reader *r, struct exec_request *req) {
  if (parse_command(r, &req->cmd) < 0 || rd_u32(r, &req->timeout_ms) < 0 || rd_u32(r, &req->flags) < 0) return -1;
  /* Older clients end here; a terminal's size follows the flags. */
  if (rd_u32(r, &req->cols) < 0 || rd_u32(r, &req->rows) < 0) req->cols = req->rows = 0;
  if ((req->flags & 2) && (req->cols == 0 || req->rows == 0 || req->cols > 1000 || req->rows > 1000)) return -1;
  return 0;
}

static void send_exit(struct conn *c, int status, int timed_out) {
  struct buf b = {0};
  int code, flags = timed_out ? 1 : 0, sig = 0;
  if (timed_out) {
    code = 124;
  } else if (WIFSIGNALED(status)) {
    sig = WTERMSIG(status);
    code = 128 + sig;
    flags |= 2;
  } else {
    code = WEXITSTATUS(status);
  }
  buf_u32(&b, (uint32_t)code);
  buf_u32(&b, (uint32_t)flags);
  buf_u32(&b, (uint32_t)sig);
  send_frame(c, 'x', b.data, b.len);
  buf_free(&b);
}

/*
 * Forwards one pipe's available bytes as a frame; returns 0 at EOF. What is already waiting is read into the same
 * frame (a terminal hands out at most about 4 KiB a read), so a fast writer costs few frames and no latency.
 */
static int relay(struct conn *c, int *fd, char type, char *chunk) {
  ssize_t n = read(*fd, chunk, READ_CHUNK);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) {
    close(*fd);
    *fd = -1;
    return 0;
  }
  size_t total = (size_t)n;
  while (total < READ_CHUNK) {
    struct pollfd more = {.fd = *fd, .events = POLLIN};
    if (poll(&more, 1, 0) <= 0 || !(more.revents & POLLIN)) break;
    ssize_t m = read(*fd, chunk + total, READ_CHUNK - total);
    if (m <= 0) break; /* the end (or EIO on a closed terminal) is seen by the next round */
    total += (size_t)m;
  }
  n = (ssize_t)total;
  if (send_frame(c, type, chunk, (size_t)n) < 0) {
    kill_tree(0);
    _exit(0);
  }
  return 1;
}

/*
 * After the last frame: stop writing, then read and drop what the client still sends (stdin the command never
 * read) until it closes, for at most LINGER_MS. Closing at once would make the client's pending writes fail
 * (EPIPE) and could cost it the exit frame it has not read yet.
 */
static void linger(struct conn *c) {
  if (c->in == c->out) shutdown(c->out, SHUT_WR);
  else close(c->out);
  char scratch[64 * 1024];
  int64_t until = now_ms() + LINGER_MS;
  for (;;) {
    int64_t left = until - now_ms();
    if (left <= 0) return;
    struct pollfd p = {.fd = c->in, .events = POLLIN};
    if (poll(&p, 1, (int)left) <= 0) return;
    if (read(c->in, scratch, sizeof scratch) <= 0) return;
  }
}

void do_exec(struct conn *c, struct reader *r) {
  struct exec_request req = {0};
  if (parse_exec(r, &req) < 0) {
    send_fail(c, EINVAL, "malformed exec request");
    return;
  }
  int with_pty = (req.flags & 2) != 0;
  int with_stdin = with_pty || (req.flags & 1);
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);

  struct spawn_io io;
  int stage[2];
  if (spawn_io_open(&io, with_stdin, with_pty, req.cols, req.rows) < 0 || pipe2(stage, O_CLOEXEC) < 0) {
    send_fail(c, errno, NULL);
    return;
  }
  /* The handler already runs as the request's user (handle_request), so the child keeps it. */
  pid_t child = fork();
  if (child < 0) {
    send_fail(c, errno, NULL);
    return;
  }
  if (child == 0) {
    close(stage[0]);
    spawn_child(&req.cmd, &io, stage[1]);
  }
  spawn_io_parent(&io);
  close(stage[1]);
  struct spawn_failure failure;
  if (spawn_stage(stage[0], &failure) && failure.stage != 'x') {
    /* It never ran (its working directory is missing, ...): a failure of the request, not an exit status. */
    waitpid(child, NULL, 0);
    send_fail(c, failure.err, failure.message[0] ? failure.message : NULL);
    return;
  }
  close(stage[0]);

  int out_fd = with_pty ? io.master : io.out[0];
  int err_fd = with_pty ? -1 : io.err[0];
  int stdin_fd = with_pty ? dup(io.master) : io.in[1];
  int term_fd = with_pty ? io.master : -1;
  if (stdin_fd >= 0) fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  struct buf pending = {0}; /* stdin bytes the command has not taken yet */
  size_t pending_off = 0;
  int stdin_eof = 0;

  int exited = 0, status = 0, timed_out = 0, client_open = 1;
  int64_t deadline = req.timeout_ms ? now_ms() + req.timeout_ms : 0;
  int64_t exited_at = 0, last_data = 0;
  char *chunk = xmalloc(READ_CHUNK);
  struct buf frame = {0};

  for (;;) {
    if (exited) {
      int64_t now = now_ms();
      if ((out_fd < 0 && err_fd < 0) || now - last_data >= DRAIN_IDLE_MS || now - exited_at >= DRAIN_MAX_MS) break;
    }
    struct pollfd fds[5];
    int n = 0, i_out = -1, i_err = -1, i_in = -1, i_sig = -1, i_stdin = -1;
    if (out_fd >= 0) fds[i_out = n++] = (struct pollfd){.fd = out_fd, .events = POLLIN};
    if (err_fd >= 0) fds[i_err = n++] = (struct pollfd){.fd = err_fd, .events = POLLIN};
    /* Stop reading the client while stdin is backed up: backpressure instead of unbounded buffering. */
    if (client_open && pending.len == pending_off) fds[i_in = n++] = (struct pollfd){.fd = c->in, .events = POLLIN};
    if (!exited) fds[i_sig = n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    if (stdin_fd >= 0 && pending.len > pending_off)
      fds[i_stdin = n++] = (struct pollfd){.fd = stdin_fd, .events = POLLOUT};

    int timeout = -1;
    int64_t now = now_ms();
    if (exited) {
      int64_t idle_left = DRAIN_IDLE_MS - (now - last_data);
      timeout = idle_left < 0 ? 0 : (int)idle_left;
    } else if (deadline) {
      timeout = deadline <= now ? 0 : (int)(deadline - now);
    }
    int ready = poll(fds, (nfds_t)n, timeout);
    if (ready < 0 && errno != EINTR) break;

    if (!exited && deadline && now_ms() >= deadline) {
      kill_tree(child);
      waitpid(child, &status, 0);
      timed_out = exited = 1;
      exited_at = last_data = now_ms();
      continue;
    }
    if (ready <= 0) continue;

    if (i_out >= 0 && fds[i_out].revents) {
      relay(c, &out_fd, 'o', chunk);
      if (out_fd < 0) term_fd = -1; /* the terminal's master was closed with it */
      last_data = now_ms();
    }
    if (i_err >= 0 && fds[i_err].revents) {
      relay(c, &err_fd, 'r', chunk);
      last_data = now_ms();
    }
    if (i_stdin >= 0 && fds[i_stdin].revents) {
      ssize_t w = write(stdin_fd, pending.data + pending_off, pending.len - pending_off);
      if (w > 0) pending_off += (size_t)w;
      else if (w < 0 && errno != EAGAIN && errno != EINTR) pending_off = pending.len; /* the command closed stdin */
      if (pending_off == pending.len) {
        pending.len = pending_off = 0;
        if (stdin_eof) {
          close(stdin_fd);
          stdin_fd = -1;
        }
      }
    }
    if (i_in >= 0 && fds[i_in].revents) {
      char type;
      if (read_frame(c, &type, &frame) < 0) {
        /* The client went away: nobody will read the output, so the command dies with its descendants. */
        kill_tree(child);
        _exit(0);
      }
      if (type == 'i' && stdin_fd >= 0 && !stdin_eof) {
        pending.len = pending_off = 0;
        buf_put(&pending, frame.data, frame.len);
      } else if (type == 'e' && stdin_fd >= 0 && term_fd >= 0) {
        /* End of input on a terminal is its EOF character (Ctrl-D), as a person would type it. */
        if (pending.len == pending_off) pending.len = pending_off = 0;
        buf_put(&pending, "\x04", 1);
      } else if (type == 'e' && stdin_fd >= 0) {
        stdin_eof = 1;
        if (pending.len == pending_off) {
          close(stdin_fd);
          stdin_fd = -1;
        }
      } else if (type == 'w' && term_fd >= 0 && frame.len >= 8) {
        struct reader fr = {frame.data, frame.len, 0};
        uint32_t cols, rows;
        if (rd_u32(&fr, &cols) == 0 && rd_u32(&fr, &rows) == 0 && cols && rows && cols <= 1000 && rows <= 1000)
          pty_resize(term_fd, cols, rows);
      } else if (type == 'k' && frame.len >= 4) {
        struct reader fr = {frame.data, frame.len, 0};
        uint32_t sig;
        rd_u32(&fr, &sig);
        if (kill(-child, (int)sig) < 0) kill(child, (int)sig);
      }
    }
    if (i_sig >= 0 && fds[i_sig].revents) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) > 0) {
      }
      int st;
      pid_t pid;
      while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (pid == child) {
          status = st;
          exited = 1;
          exited_at = last_data = now_ms();
        }
      }
    }
  }
  send_exit(c, status, timed_out);
  linger(c);
}
