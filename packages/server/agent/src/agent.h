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

/* Write payloads straight from the connection to a file (copy.c). */
struct copier {
  int pipe[2];
  int splice_ok;      /* the connection takes splice (into the pipe) */
  int file_splice_ok; /* the file takes splice (out of the pipe) */
  char *chunk;
};
void copier_init(struct copier *k);
void copier_free(struct copier *k);
/* A frame's header only (its payload is left on the connection). */
int read_header(struct conn *c, char *type, uint32_t *len);
/* Moves a payload of `len` bytes to `fd`, always consuming it whole; the file's first write error goes to *werr.
 * -1 when the connection failed. */
int copy_payload_to_file(struct conn *c, int fd, uint32_t len, struct copier *k, int *werr);

/* Answers. */
int send_fail(struct conn *c, int err, const char *message);
int send_done(struct conn *c, uint64_t count);
/* Flag after the stat record of a read: the size is not the content's (procfs, sysfs, empty): read to the end. */
#define READ_SIZE_UNKNOWN 1u
void stat_record(struct buf *b, const struct stat *st, const char *name, const char *link_target);

/* User switching (user.c). `spec` is Docker's User syntax; "" keeps the current user. */
int become_user(const char *spec, char *err, size_t errlen);
/* The uid and gid a user spec names ("" = the agent's own); -1 when it names nobody known. */
int user_ids(const char *spec, uid_t *uid, gid_t *gid);
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

/* Pseudo-terminals (pty.c). */
int pty_open(int *master, char *slave_path, size_t len, uint32_t cols, uint32_t rows);
int pty_resize(int master, uint32_t cols, uint32_t rows);
int pty_attach_child(const char *slave_path, const char *user);
#define DEFAULT_TERM "xterm-256color"

/* Starting commands (spawn.c). */
struct spawn_req {
  char **argv; /* NULL-terminated */
  uint32_t argc;
  char **env;  /* NULL-terminated K=V entries, set in the child */
  int env_has_term;
  char *workdir;    /* "" = inherit */
  const char *user; /* NULL or "" = the current user */
};
struct spawn_io {
  int out[2], err[2], in[2]; /* pipes (unused with a terminal) */
  int master;                /* the terminal's master, or -1 */
  char slave[64];
  int pty;
};
struct spawn_failure {
  char stage; /* 'p' stdio/terminal, 'u' user, 'c' working directory, 'x' exec */
  int err;
  char message[512];
};
/* argc + argv, envc + env, workdir: the command part of exec and start requests. */
int parse_command(struct reader *r, struct spawn_req *req);
void spawn_req_free(struct spawn_req *req);
int spawn_io_open(struct spawn_io *io, int with_stdin, int pty, uint32_t cols, uint32_t rows);
/* In the parent after fork: closes the child's ends. */
void spawn_io_parent(struct spawn_io *io);
void spawn_io_close(struct spawn_io *io);
/* In the child after fork: stdio, env, user, workdir, exec. Failures are written to `stage_fd` (close-on-exec). */
_Noreturn void spawn_child(const struct spawn_req *req, struct spawn_io *io, int stage_fd);
/* In the parent: 0 when the command was exec'd, 1 with `failure` filled when a step failed. */
int spawn_stage(int stage_fd, struct spawn_failure *failure);

/* Kills `pgid`'s group and every descendant of the calling process (exec.c); the caller is their subreaper. */
void kill_tree(pid_t pgid);
/* A background process's keeper (keeper.c), run in a child of init. */
_Noreturn void keeper_main(const struct spawn_req *req, struct spawn_io *io, int stage_fd, int status_fd);

/* The process manager (pm.c), part of init's event loop. */
#define PM_DEFAULT_NAME "burrow-agent.pm"
enum pm_slot_kind { PM_LISTENER, PM_OUTPUT, PM_STATUS, PM_INPUT, PM_CLIENT };
struct pm_slot {
  int kind;
  int index;
  int stream;
};
int pm_handles(char type);
void pm_set_default_user(const char *user);
void pm_close_inherited(void);
/* Serves a process request that arrived on `fd` (which it then owns). */
void pm_request(int fd, char type, struct buf *payload);
/* The in-sandbox socket (abstract, root only) through which `burrow-agent stdio` reaches the process manager. */
int pm_listen(const char *name);
int pm_connect(const char *name);
int pm_pollfds(struct pollfd *fds, int max, struct pm_slot *slots);
int pm_timeout(int64_t now);
void pm_handle(const struct pollfd *fds, const struct pm_slot *slots, int n);
void pm_child_exited(pid_t pid);

/* Egress (egress.c): init's loopback listener for a proxy-only sandbox, relayed to the server's egress socket. */
int egress_listen(uint32_t port);
void egress_accept(int listen_fd, const char *egress_socket);

/* Watch and connect requests (watch.c, connect.c), in forked handlers. */
void do_watch(struct conn *c, const char *path, uint32_t flags);
void do_connect(struct conn *c, const char *host, uint32_t port);

/* Shared filesystem helpers (files.c). */
int mkdir_parents(const char *path, mode_t mode);

#endif
