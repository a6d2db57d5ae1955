/* Buffers, payload parsing and framing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

/* Allocation failures end the request's handler (exit 70): it runs in a child of its own, so nothing else is lost. */
void *xmalloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p) _exit(70);
  return p;
}

void *xrealloc(void *old, size_t size) {
  void *p = realloc(old, size ? size : 1);
  if (!p) _exit(70);
  return p;
}

char *xstrdup(const char *s) {
  char *p = strdup(s);
  if (!p) _exit(70);
  return p;
}

void buf_reserve(struct buf *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  b->data = xrealloc(b->data, cap);
  b->cap = cap;
}

void buf_put(struct buf *b, const void *data, size_t len) {
  buf_reserve(b, len);
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
}

void buf_u32(struct buf *b, uint32_t v) {
  unsigned char bytes[4] = {v >> 24, v >> 16, v >> 8, v};
  buf_put(b, bytes, 4);
}

void buf_u64(struct buf *b, uint64_t v) {
  buf_u32(b, (uint32_t)(v >> 32));
  buf_u32(b, (uint32_t)v);
}

void buf_str(struct buf *b, const void *data, size_t len) {
  buf_u32(b, (uint32_t)len);
  buf_put(b, data, len);
}

void buf_cstr(struct buf *b, const char *s) { buf_str(b, s, s ? strlen(s) : 0); }

void buf_free(struct buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int rd_u32(struct reader *r, uint32_t *out) {
  if (r->len - r->off < 4) return -1;
  const unsigned char *p = r->data + r->off;
  *out = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
  r->off += 4;
  return 0;
}

int rd_cstr(struct reader *r, char **out) {
  uint32_t len;
  if (rd_u32(r, &len) < 0 || r->len - r->off < len) return -1;
  if (memchr(r->data + r->off, 0, len)) return -1;
  char *s = xmalloc((size_t)len + 1);
  memcpy(s, r->data + r->off, len);
  s[len] = 0;
  r->off += len;
  *out = s;
  return 0;
}

int write_all(int fd, const void *src, size_t len) {
  const char *p = src;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int read_exact(int fd, void *dst, size_t len) {
  char *p = dst;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

int send_frame(struct conn *c, char type, const void *payload, size_t len) {
  unsigned char header[5] = {(unsigned char)type, len >> 24, len >> 16, len >> 8, len};
  if (len <= 64 * 1024) {
    /* One write for small frames: fewer syscalls and packets on the hot path. */
    unsigned char stack[5 + 64 * 1024];
    memcpy(stack, header, 5);
    if (len) memcpy(stack + 5, payload, len);
    return write_all(c->out, stack, 5 + len);
  }
  if (write_all(c->out, header, 5) < 0) return -1;
  return write_all(c->out, payload, len);
}

int read_frame(struct conn *c, char *type, struct buf *payload) {
  unsigned char header[5];
  if (read_exact(c->in, header, 5) < 0) return -1;
  uint32_t len = ((uint32_t)header[1] << 24) | ((uint32_t)header[2] << 16) | ((uint32_t)header[3] << 8) | header[4];
  if (len > MAX_FRAME_PAYLOAD) return -1;
  payload->len = 0;
  buf_reserve(payload, len);
  if (read_exact(c->in, payload->data, len) < 0) return -1;
  payload->len = len;
  *type = (char)header[0];
  return 0;
}

int send_fail(struct conn *c, int err, const char *message) {
  struct buf b = {0};
  buf_u32(&b, (uint32_t)err);
  buf_cstr(&b, message ? message : strerror(err));
  int rc = send_frame(c, 'f', b.data, b.len);
  buf_free(&b);
  return rc;
}

int send_done(struct conn *c, uint64_t count) {
  struct buf b = {0};
  buf_u64(&b, count);
  int rc = send_frame(c, 'z', b.data, b.len);
  buf_free(&b);
  return rc;
}

void stat_record(struct buf *b, const struct stat *st, const char *name, const char *link_target) {
  buf_u32(b, (uint32_t)st->st_mode);
  buf_u64(b, (uint64_t)st->st_size);
  buf_u64(b, (uint64_t)(int64_t)st->st_mtim.tv_sec);
  buf_u32(b, (uint32_t)st->st_mtim.tv_nsec);
  buf_cstr(b, name);
  buf_cstr(b, link_target);
}
