/*
 * burrow-agent: the in-sandbox helper. `init` is the container's entrypoint (serves a unix socket and runs the
 * sandbox's main process), `stdio` answers one request over stdin/stdout for the Engine API path.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static void usage(void) {
  fputs("usage: burrow-agent init [--channel <socket>] [--user <user>] [--] [argv...]\n"
        "       burrow-agent stdio\n"
        "       burrow-agent version\n",
        stderr);
  exit(2);
}

void handle_connection(struct conn *c, const char *default_user) {
  signal(SIGPIPE, SIG_IGN);
  struct buf payload = {0};
  char type;
  if (read_frame(c, &type, &payload) < 0) return;
  struct reader r = {payload.data, payload.len, 0};
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
  if (rd_cstr(&r, &path) < 0 || (type == 'W' && rd_u32(&r, &mode) < 0))
    return (void)send_fail(c, EINVAL, "malformed request");
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
    default: send_fail(c, EINVAL, "unknown request type");
  }
}

static int exit_code_of(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs one request in a child of its own, so requests run concurrently and a crash ends only that request. */
static void spawn_handler(int conn_fd, int sigfd, const struct channel *ch, const char *user) {
  pid_t handler = fork();
  if (handler == 0) {
    close(sigfd);
    for (int i = 0; i < CHANNEL_SPARES; i++)
      if (ch->fds[i] >= 0) close(ch->fds[i]);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct conn c = {conn_fd, conn_fd};
    handle_connection(&c, user);
    _exit(0);
  }
  close(conn_fd);
}

static int run_init(int argc, char **argv) {
  const char *channel_path = NULL, *user = "";
  int i = 2;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--channel") && i + 1 < argc) channel_path = argv[++i];
    else if (!strcmp(argv[i], "--user") && i + 1 < argc) user = argv[++i];
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

  prepare_home(user);
  pid_t main_pid = 0;
  if (*main_argv) {
    main_pid = fork();
    if (main_pid == 0) {
      close(sigfd);
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

  for (;;) {
    int64_t now = now_ms();
    channel_fill(&ch, now);
    struct pollfd fds[1 + CHANNEL_SPARES];
    int slots[CHANNEL_SPARES];
    fds[0] = (struct pollfd){.fd = sigfd, .events = POLLIN};
    int n = 1 + channel_pollfds(&ch, fds + 1, slots);
    for (int k = 0; k < CHANNEL_SPARES; k++)
      if (slots[k] >= 0) slots[k] += 1;
    if (poll(fds, (nfds_t)n, channel_timeout(&ch, now)) < 0 && errno != EINTR) return 1;
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
      }
    }
    for (int fd; (fd = channel_take(&ch, fds, slots)) >= 0;) spawn_handler(fd, sigfd, &ch, user);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  if (!strcmp(argv[1], "version")) {
    puts(AGENT_VERSION);
    return 0;
  }
  if (!strcmp(argv[1], "stdio")) {
    struct conn c = {0, 1};
    handle_connection(&c, "");
    return 0;
  }
  if (!strcmp(argv[1], "init")) return run_init(argc, argv);
  usage();
  return 2;
}
