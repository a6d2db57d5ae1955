/*
 * Starting a command for exec and for background processes: its stdio (pipes, or a pseudo-terminal), and the
 * child's steps before exec (environment, user, working directory), reported on a close-on-exec "stage" pipe so
 * the parent learns synchronously whether the command started and, if not, why.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

int spawn_io_open(struct spawn_io *io, int with_stdin, int pty, uint32_t cols, uint32_t rows) {
  memset(io, 0, sizeof *io);
  io->out[0] = io->out[1] = io->err[0] = io->err[1] = io->in[0] = io->in[1] = io->master = -1;
  io->pty = pty;
  if (pty) return pty_open(&io->master, io->slave, sizeof io->slave, cols, rows);
  if (pipe2(io->out, O_CLOEXEC) < 0 || pipe2(io->err, O_CLOEXEC) < 0) return -1;
  if (with_stdin && pipe2(io->in, O_CLOEXEC) < 0) return -1;
  return 0;
}

void spawn_io_parent(struct spawn_io *io) {
  if (io->out[1] >= 0) close(io->out[1]);
  if (io->err[1] >= 0) close(io->err[1]);
  if (io->in[0] >= 0) close(io->in[0]);
  io->out[1] = io->err[1] = io->in[0] = -1;
}

void spawn_io_close(struct spawn_io *io) {
  spawn_io_parent(io);
  int *fds[] = {&io->out[0], &io->err[0], &io->in[1], &io->master};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
    if (*fds[i] >= 0) close(*fds[i]);
    *fds[i] = -1;
  }
}

static _Noreturn void report(int stage_fd, char stage, int err, const char *message) {
  struct buf b = {0};
  buf_put(&b, &stage, 1);
  buf_u32(&b, (uint32_t)err);
  buf_cstr(&b, message ? message : "");
  write_all(stage_fd, b.data, b.len);
  _exit(stage == 'x' ? (err == ENOENT ? 127 : 126) : 126);
}

_Noreturn void spawn_child(const struct spawn_req *req, struct spawn_io *io, int stage_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_DFL);
  if (io->pty) {
    if (pty_attach_child(io->slave, req->user) < 0) report(stage_fd, 'p', errno, "cannot attach the terminal");
  } else {
    setsid();
    int input = io->in[0] >= 0 ? io->in[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (input < 0 || dup2(input, 0) < 0 || dup2(io->out[1], 1) < 0 || dup2(io->err[1], 2) < 0)
      report(stage_fd, 'p', errno, "cannot set up the process's input and output");
  }
  for (char **entry = req->env; entry && *entry; entry++) {
    char *eq = strchr(*entry, '=');
    if (!eq || eq == *entry) continue;
    *eq = 0;
    setenv(*entry, eq + 1, 1);
    *eq = '=';
  }
  if (io->pty && !req->env_has_term) setenv("TERM", DEFAULT_TERM, 1);
  char message[512] = "";
  if (req->user && *req->user && become_user(req->user, message, sizeof message) < 0)
    report(stage_fd, 'u', errno ? errno : EINVAL, message);
  if (req->workdir && *req->workdir && chdir(req->workdir) < 0) {
    int err = errno;
    snprintf(message, sizeof message, "cannot use working directory %.400s: %s", req->workdir, strerror(err));
    report(stage_fd, 'c', err, message);
  }
  execvp(req->argv[0], req->argv);
  int err = errno;
  /* Like a shell: the failure goes to the command's own stderr, and the exit code says 127 or 126. */
  char line[4200];
  int n = snprintf(line, sizeof line, "burrow: %s: %s\n", req->argv[0], strerror(err));
  if (n > 0) write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  report(stage_fd, 'x', err, NULL);
}

int spawn_stage(int stage_fd, struct spawn_failure *failure) {
  unsigned char head[9];
  memset(failure, 0, sizeof *failure);
  ssize_t n;
  do n = read(stage_fd, head, 1);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return 0; /* closed on exec: the command runs */
  if (read_exact(stage_fd, head + 1, 8) < 0) return 0;
  failure->stage = (char)head[0];
  failure->err = (int)(((uint32_t)head[1] << 24) | ((uint32_t)head[2] << 16) | ((uint32_t)head[3] << 8) | head[4]);
  uint32_t len = ((uint32_t)head[5] << 24) | ((uint32_t)head[6] << 16) | ((uint32_t)head[7] << 8) | head[8];
  if (len >= sizeof failure->message) len = sizeof failure->message - 1;
  if (len && read_exact(stage_fd, failure->message, len) < 0) len = 0;
  failure->message[len] = 0;
  return 1;
}

int parse_command(struct reader *r, struct spawn_req *req) {
  uint32_t argc, envc;
  if (rd_u32(r, &argc) < 0 || argc == 0 || argc > 1u << 16) return -1;
  req->argv = xmalloc(((size_t)argc + 1) * sizeof(char *));
  req->argc = argc;
  for (uint32_t i = 0; i <= argc; i++) req->argv[i] = NULL;
  for (uint32_t i = 0; i < argc; i++)
    if (rd_cstr(r, &req->argv[i]) < 0) return -1;
  if (rd_u32(r, &envc) < 0 || envc > 1u << 16) return -1;
  req->env = xmalloc(((size_t)envc + 1) * sizeof(char *));
  for (uint32_t i = 0; i <= envc; i++) req->env[i] = NULL;
  for (uint32_t i = 0; i < envc; i++) {
    if (rd_cstr(r, &req->env[i]) < 0) return -1;
    if (!strncmp(req->env[i], "TERM=", 5)) req->env_has_term = 1;
  }
  return rd_cstr(r, &req->workdir);
}

void spawn_req_free(struct spawn_req *req) {
  for (char **p = req->argv; p && *p; p++) free(*p);
  for (char **p = req->env; p && *p; p++) free(*p);
  free(req->argv);
  free(req->env);
  free(req->workdir);
  memset(req, 0, sizeof *req);
}
