/*
 * Moving a write request's data from the connection to the file without a trip through this process's memory:
 * splice(2) through a pipe where the kernel can (a socket or pipe in, most filesystems out), read/write where it
 * cannot (the first failure switches a transfer to the fallback for good). Framing stays exact either way: a
 * frame's payload is always consumed whole, even after the file refused a write (ENOSPC), so the answer that
 * follows is read by the client.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent.h"

#define PIPE_BYTES (1024 * 1024)
#define CHUNK (256 * 1024)

void copier_init(struct copier *k) {
  k->splice_ok = pipe2(k->pipe, O_CLOEXEC) == 0;
  if (k->splice_ok) fcntl(k->pipe[1], F_SETPIPE_SZ, PIPE_BYTES); /* best effort: larger moves per call */
  k->file_splice_ok = 1;
  k->chunk = NULL;
}

void copier_free(struct copier *k) {
  if (k->splice_ok) {
    close(k->pipe[0]);
    close(k->pipe[1]);
  }
  k->splice_ok = 0;
  free(k->chunk);
  k->chunk = NULL;
}

/* Empties `pending` bytes from the pipe into nowhere (after the file refused them). */
static int discard_pipe(struct copier *k, size_t pending) {
  char scratch[16 * 1024];
  while (pending > 0) {
    ssize_t n = read(k->pipe[0], scratch, pending < sizeof scratch ? pending : sizeof scratch);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    pending -= (size_t)n;
  }
  return 0;
}

/* Moves `pending` bytes from the pipe to `fd`; records the first write error in *werr and discards the rest. */
static int pipe_to_file(struct copier *k, int fd, size_t pending, int *werr) {
  while (pending > 0) {
    if (*werr) return discard_pipe(k, pending);
    if (k->file_splice_ok) {
      ssize_t m = splice(k->pipe[0], NULL, fd, NULL, pending, SPLICE_F_MOVE);
      if (m > 0) {
        pending -= (size_t)m;
        continue;
      }
      if (m < 0 && errno == EINTR) continue;
      if (m == 0 || (errno != EINVAL && errno != ENOSYS)) {
        *werr = m < 0 ? errno : EIO;
        continue;
      }
      k->file_splice_ok = 0; /* this filesystem takes no splice: through memory from here on */
    }
    if (!k->chunk) k->chunk = xmalloc(CHUNK);
    ssize_t n = read(k->pipe[0], k->chunk, pending < CHUNK ? pending : CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    if (write_all(fd, k->chunk, (size_t)n) < 0) *werr = errno;
    pending -= (size_t)n;
  }
  return 0;
}

int copy_payload_to_file(struct conn *c, int fd, uint32_t len, struct copier *k, int *werr) {
  uint32_t left = len;
  while (left > 0 && k->splice_ok) {
    ssize_t n = splice(c->in, NULL, k->pipe[1], NULL, left, SPLICE_F_MOVE | SPLICE_F_MORE);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EINVAL || errno == ENOSYS) && left == len) {
      k->splice_ok = 0; /* the connection takes no splice (nothing was moved yet): read/write below */
      close(k->pipe[0]);
      close(k->pipe[1]);
      break;
    }
    if (n <= 0) return -1;
    left -= (uint32_t)n;
    if (pipe_to_file(k, fd, (size_t)n, werr) < 0) return -1;
  }
  if (!k->chunk && left > 0) k->chunk = xmalloc(CHUNK);
  while (left > 0) {
    ssize_t n = read(c->in, k->chunk, left < CHUNK ? left : CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    left -= (uint32_t)n;
    if (!*werr && write_all(fd, k->chunk, (size_t)n) < 0) *werr = errno;
  }
  return 0;
}

int read_header(struct conn *c, char *type, uint32_t *len) {
  unsigned char header[5];
  if (read_exact(c->in, header, 5) < 0) return -1;
  *len = ((uint32_t)header[1] << 24) | ((uint32_t)header[2] << 16) | ((uint32_t)header[3] << 8) | header[4];
  if (*len > MAX_FRAME_PAYLOAD) return -1;
  *type = (char)header[0];
  return 0;
}
