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
#include <unistd.h>

#include "agent.h"

static void usage(void) {
  fputs("usage: burrow-agent init --socket <path> [--user <user>] [--] [argv...]\n"
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

static int listen_on(const char *path) {
  char *dir = strdup(path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = 0;
    if (mkdir_parents(dir, 0700) < 0) {
      fprintf(stderr, "burrow-agent: cannot create %s: %s\n", dir, strerror(errno));
      exit(1);
    }
    chmod(dir, 0700); /* only root (the server, and this agent) may reach the socket */
  }
  free(dir);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    fprintf(stderr, "burrow-agent: socket path too long: %s\n", path);
    exit(1);
  }
  strcpy(addr.sun_path, path);
  unlink(path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  mode_t old = umask(0177);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 256) < 0) {
    fprintf(stderr, "burrow-agent: cannot listen on %s: %s\n", path, strerror(errno));
    exit(1);
  }
  umask(old);
  chmod(path, 0600);
  return fd;
}

static int exit_code_of(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

static int run_init(int argc, char **argv) {
  const char *socket_path = NULL, *user = "";
  int i = 2;
  for (; i < argc; i++) {
    if (!strcmp(argv[i], "--socket") && i + 1 < argc) socket_path = argv[++i];
    else if (!strcmp(argv[i], "--user") && i + 1 < argc) user = argv[++i];
    else if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else if (argv[i][0] == '-') usage();
    else break;
  }
  if (!socket_path) usage();
  char **main_argv = argv + i;

  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGHUP);
  sigprocmask(SIG_BLOCK, &handled, NULL);
  int sigfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
  int listener = listen_on(socket_path);

  prepare_home(user);
  pid_t main_pid = 0;
  if (*main_argv) {
    main_pid = fork();
    if (main_pid == 0) {
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, NULL);
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
    struct pollfd fds[2] = {{.fd = listener, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return 1;
    if (fds[1].revents) {
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
    if (fds[0].revents & POLLIN) {
      int conn_fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
      if (conn_fd < 0) continue;
      pid_t handler = fork();
      if (handler == 0) {
        close(listener);
        close(sigfd);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        struct conn c = {conn_fd, conn_fd};
        handle_connection(&c, user);
        _exit(0);
      }
      close(conn_fd);
    }
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
