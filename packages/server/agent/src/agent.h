/* burrow-agent: shared declarations. The wire protocol is specified in ../PROTOCOL.md. */
#ifndef BURROW_AGENT_H
#define BURROW_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define AGENT_VERSION "2"
#define MAX_FRAME_PAYLOAD (1024u * 1024u)

void *xmalloc(size_t size);
void *xrealloc(void *old, size_t size);
char *xstrdup(const char *s);

/* A growable byte buffer used to build payloads and hold received frames. */
struct buf {
  unsigned char *data;
  size_t len;
  size_t cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_put(struct buf *b, const void *data, size_t len);
void buf_u32(struct buf *b, uint32_t v);
void buf_u64(struct buf *b, uint64_t v);
void buf_str(struct buf *b, const void *data, size_t len);
void buf_cstr(struct buf *b, const char *s);
void buf_free(struct buf *b);

/* A payload being parsed; every getter fails (returns -1) on truncation. */
struct reader {
  const unsigned char *data;
  size_t len;
  size_t off;
};

int rd_u32(struct reader *r, uint32_t *out);
/* A string as a fresh NUL-terminated copy (embedded NULs are rejected: paths and argv cannot hold them). */
int rd_cstr(struct reader *r, char **out);

/* The connection to the client: one request per connection. */
struct conn {
  int in;
  int out;
};

/* Frame I/O. Return 0 on success, -1 when the peer is gone or sent garbage. */
int send_frame(struct conn *c, char type, const void *payload, size_t len);
int read_frame(struct conn *c, char *type, struct buf *payload);
int read_exact(int fd, void *dst, size_t len);
int write_all(int fd, const void *src, size_t len);

/* Answers. */
int send_fail(struct conn *c, int err, const char *message);
int send_done(struct conn *c, uint64_t count);
/* Flag after the stat record of a read: the size is not the content's (procfs, sysfs, empty): read to the end. */
#define READ_SIZE_UNKNOWN 1u
void stat_record(struct buf *b, const struct stat *st, const char *name, const char *link_target);

/* User switching (user.c). `spec` is Docker's User syntax; "" keeps the current user. */
int become_user(const char *spec, char *err, size_t errlen);
/* Gives a non-root user a root-owned (freshly mounted tmpfs) home directory. */
int prepare_home(const char *spec);

/* Requests. */
void handle_connection(struct conn *c, const char *default_user);
void do_exec(struct conn *c, struct reader *r);
void do_read(struct conn *c, const char *path);
void do_write(struct conn *c, const char *path, uint32_t mode);
void do_list(struct conn *c, const char *path);
void do_stat(struct conn *c, const char *path);
void do_mkdir(struct conn *c, const char *path);
void do_remove(struct conn *c, const char *path);
void do_archive(struct conn *c, const char *path);
void do_unpack(struct conn *c, const char *path);

/* The channel to the server (channel.c): idle connections the agent keeps open to the server's listener. */
#define CHANNEL_SPARES 2
struct pollfd;
struct channel {
  const char *path; /* NULL: no channel (the agent is reached through `docker exec ... stdio` only) */
  int fds[CHANNEL_SPARES];
  int64_t next_attempt;
  int backoff_ms;
};
void channel_init(struct channel *ch, const char *path);
/* Opens connections until CHANNEL_SPARES are idle, unless the server refused recently (backoff). */
void channel_fill(struct channel *ch, int64_t now);
/* Milliseconds until channel_fill should run again, or -1 when nothing is pending. */
int channel_timeout(const struct channel *ch, int64_t now);
/* Adds the idle connections to a poll set; slots[i] is the index of fds[i] in it, or -1. */
int channel_pollfds(const struct channel *ch, struct pollfd *fds, int *slots);
/* After poll: a connection on which the server sent a request (made blocking), or -1. Closed ones are dropped. */
int channel_take(struct channel *ch, const struct pollfd *fds, const int *slots);

/* Longest user spec accepted (Docker's `User` syntax); longer ones are refused, never truncated. */
#define MAX_USER_SPEC 512

/* Shared filesystem helpers (files.c). */
int mkdir_parents(const char *path, mode_t mode);

#endif
