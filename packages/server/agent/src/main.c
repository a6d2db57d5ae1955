/*
 * burrow-agent: the in-sandbox helper. `init` is the container's entrypoint: it runs the sandbox's main process,
 * keeps the channel to the server, and owns background processes; `stdio` answers one request over stdin/stdout
 * (the path through `docker exec`), passing process requests on to init.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

/* Poll slots: the signal fd, the channel's spares, and the process manager (listener, processes, clients). */
#define MAX_POLL 8192

static void usage(void) {
  fputs("usage: burrow-agent init [--channel <socket>] [--user <user>] [--pm <name>] [--egress <port>] [--] [argv...]\n"
        "       burrow-agent stdio [--pm <name>]\n"
        "       burrow-agent version\n",
        stderr);
  exit(2);
}

/* One request whose first frame was read: switches to its user, then serves it (in a handler of its own). */
static void handle_request(struct conn *c, char type, struct buf *payload, const char *default_user) {
  signal(SIGPIPE, SIG_IGN);
  struct reader r = {payload->data, payload->len, 0};
  char *user;
  if (rd_cstr(&r, &user) < 0) return (void)send_fail(c, EINVAL, "malformed request");
  char err[512] = "";
  if (become_user(*user ? user : default_user, err, sizeof err) < 0) {
    send_fail(c, errno ? errno : EINVAL, err);
    return;
  }
  if (type == 'P') {
    struct buf b = {0};
    buf_cstr(&b, AGENT_VERSION);
    send_frame(c, 'p', b.data, b.len);
    return;
  }
  if (type == 'X') return do_exec(c, &r);
  char *path;
  uint32_t mode = 0644;
  if (rd_cstr(&r, &path) < 0 || ((type == 'W' || type == 'V' || type == 'N') && rd_u32(&r, &mode) < 0))
    return (void)send_fail(c, EINVAL, "malformed request");
  if (type == 'N') return do_connect(c, path, mode);
  if (path[0] != '/') return (void)send_fail(c, EINVAL, "the path must be absolute");
  switch (type) {
    case 'R': return do_read(c, path);
    case 'W': return do_write(c, path, mode);
    case 'L': return do_list(c, path);
    case 'S': return do_stat(c, path);
    case 'M': return do_mkdir(c, path);
    case 'D': return do_remove(c, path);
    case 'A': return do_archive(c, path);
    case 'U': return do_unpack(c, path);
    case 'V': return do_watch(c, path, mode);
    default: send_fail(c, EINVAL, "unknown request type");
  }
}

static int exit_code_of(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads a connection's first frame; the server sends it whole, so a short deadline keeps init from stalling. */
static int read_first_frame(int fd, char *type, struct buf *payload) {
  struct timeval limit = {.tv_sec = 2};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  struct conn c = {fd, fd};
  int rc = read_frame(&c, type, payload);
  struct timeval none = {0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  return rc;
}

/* A request the server sent on an idle connection: process requests stay in init, the rest get a handler. */
static void serve(int conn_fd, int sigfd, const struct channel *ch, const char *user) {
  char type;
  struct buf payload = {0};
  if (read_first_frame(conn_fd, &type, &payload) < 0) {
    close(conn_fd);
    buf_free(&payload);
    return;
  }
  if (pm_handles(type)) {
    pm_request(conn_fd, type, &payload);
    buf_free(&payload);
    return;
  }
  pid_t handler = fork();
  if (handler == 0) {
    close(sigfd);
    for (int i = 0; i < CHANNEL_SPARES; i++)
      if (ch->fds[i] >= 0) close(ch->fds[i]);
    pm_close_inherited();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct conn c = {conn_fd, conn_fd};
    handle_request(&c, type, &payload, user);
    _exit(0);
  }
  close(conn_fd);
  buf_free(&payload);
}

static int run_init(int argc, char **argv) {
  const char *channel_path = NULL, *user = "", *pm_name = PM_DEFAULT_NAME;
  long egress_port = 0;
  int i = 2;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--channel") && i + 1 < argc) channel_path = argv[++i];
    else if (!strcmp(argv[i], "--user") && i + 1 < argc) user = argv[++i];
    else if (!strcmp(argv[i], "--pm") && i + 1 < argc) pm_name = argv[++i];
    else if (!strcmp(argv[i], "--egress") && i + 1 < argc) egress_port = strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else if (argv[i][0] == '-') usage();
    else break;
  }
  if (strlen(user) >= MAX_USER_SPEC) {
    fprintf(stderr, "burrow-agent: --user is longer than %d bytes\n", MAX_USER_SPEC - 1);
    return 2;
  }
  char **main_argv = argv + i;

  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGHUP);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  signal(SIGPIPE, SIG_IGN);
  int sigfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) {
    fprintf(stderr, "burrow-agent: signalfd: %s\n", strerror(errno));
    return 1;
  }
  struct channel ch;
  channel_init(&ch, channel_path);
  pm_set_default_user(user);
  if (pm_listen(pm_name) < 0)
    fprintf(stderr, "burrow-agent: no process manager socket (%s): %s\n", pm_name, strerror(errno));

  /* The server's egress socket sits next to the channel socket, in the same read-only directory. */
  static char egress_socket[256];
  int egress_fd = -1;
  if (egress_port > 0 && egress_port < 65536 && channel_path) {
    snprintf(egress_socket, sizeof egress_socket, "%s", channel_path);
    char *slash = strrchr(egress_socket, '/');
    if (slash && (size_t)(slash - egress_socket) + sizeof "/egress.sock" <= sizeof egress_socket) {
      strcpy(slash, "/egress.sock");
      egress_fd = egress_listen((uint32_t)egress_port);
      if (egress_fd < 0) fprintf(stderr, "burrow-agent: cannot listen for egress on port %ld: %s\n", egress_port, strerror(errno));
    }
  }

  prepare_home(user);
  pid_t main_pid = 0;
  if (*main_argv) {
    main_pid = fork();
    if (main_pid == 0) {
      close(sigfd);
      if (egress_fd >= 0) close(egress_fd);
      pm_close_inherited();
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, NULL);
      signal(SIGPIPE, SIG_DFL);
      char err[512] = "";
      if (become_user(user, err, sizeof err) < 0) {
        fprintf(stderr, "burrow-agent: %s\n", err);
        _exit(126);
      }
      execvp(main_argv[0], main_argv);
      fprintf(stderr, "burrow-agent: %s: %s\n", main_argv[0], strerror(errno));
      _exit(errno == ENOENT ? 127 : 126);
    }
  }

  static struct pollfd fds[MAX_POLL];
  static struct pm_slot pm_slots[MAX_POLL];
  for (;;) {
    int64_t now = now_ms();
    channel_fill(&ch, now);
    int slots[CHANNEL_SPARES];
    fds[0] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    int spares = channel_pollfds(&ch, fds + 1, slots);
    for (int k = 0; k < CHANNEL_SPARES; k++)
      if (slots[k] >= 0) slots[k] += 1;
    int base = 1 + spares;
    if (egress_fd >= 0) fds[base++] = (struct pollfd){.fd = egress_fd, .events = POLLIN};
    int pm_count = pm_pollfds(fds + base, MAX_POLL - base, pm_slots);
    int timeout = channel_timeout(&ch, now);
    int pm_wait = pm_timeout(now);
    if (pm_wait >= 0 && (timeout < 0 || pm_wait < timeout)) timeout = pm_wait;
    if (poll(fds, (nfds_t)(base + pm_count), timeout) < 0 && errno != EINTR) return 1;
    if (fds[0].revents) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) == (ssize_t)sizeof info) {
        int sig = (int)info.ssi_signo;
        if (sig == SIGCHLD) continue;
        if (main_pid > 0) kill(main_pid, sig);
        else if (sig != SIGHUP) return 0;
      }
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == main_pid) return exit_code_of(status);
        pm_child_exited(pid);
      }
    }
    pm_handle(fds + base, pm_slots, pm_count);
    if (egress_fd >= 0 && fds[base - 1].revents & POLLIN) egress_accept(egress_fd, egress_socket);
    for (int fd; (fd = channel_take(&ch, fds, slots)) >= 0;) serve(fd, sigfd, &ch, user);
  }
}

/* Copies bytes both ways between this process's stdio and `fd` until both directions ended. */
static void relay_stdio(int fd) {
  char chunk[64 * 1024];
  int from_client = 1, from_pm = 1;
  while (from_pm) {
    struct pollfd fds[2] = {{.fd = 0, .events = from_client ? POLLIN : 0}, {.fd = fd, .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents) {
      ssize_t n = read(0, chunk, sizeof chunk);
      if (n <= 0) {
        /* The server went away: so does this request (an attach or a wait ends with its client). */
        return;
      }
      if (write_all(fd, chunk, (size_t)n) < 0) return;
    }
    if (fds[1].revents) {
      ssize_t n = read(fd, chunk, sizeof chunk);
      if (n <= 0) from_pm = 0;
      else if (write_all(1, chunk, (size_t)n) < 0) return;
    }
  }
}

static int run_stdio(int argc, char **argv) {
  const char *pm_name = PM_DEFAULT_NAME;
  if (argc >= 4 && !strcmp(argv[2], "--pm")) pm_name = argv[3];
  signal(SIGPIPE, SIG_IGN);
  struct conn c = {0, 1};
  char type;
  struct buf payload = {0};
  if (read_frame(&c, &type, &payload) < 0) return 0;
  if (!pm_handles(type)) {
    handle_request(&c, type, &payload, "");
    return 0;
  }
  /* Processes belong to init: pass the request on over its in-sandbox socket. */
  int fd = pm_connect(pm_name);
  if (fd < 0) {
    send_fail(&c, errno, "the sandbox's init agent does not answer (is the sandbox running the burrow-agent?)");
    return 0;
  }
  unsigned char header[5] = {(unsigned char)type, (unsigned char)(payload.len >> 24), (unsigned char)(payload.len >> 16),
                             (unsigned char)(payload.len >> 8), (unsigned char)payload.len};
  if (write_all(fd, header, 5) == 0 && write_all(fd, payload.data, payload.len) == 0) relay_stdio(fd);
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  if (!strcmp(argv[1], "version")) {
    puts(AGENT_VERSION);
    return 0;
  }
  if (!strcmp(argv[1], "stdio")) return run_stdio(argc, argv);
  if (!strcmp(argv[1], "init")) return run_init(argc, argv);
  usage();
  return 2;
}
