/*
 * The egress relay (PROTOCOL.md, "Egress"): a sandbox created with an egress policy has no network interface but
 * loopback, and its programs' HTTP(S)_PROXY points at 127.0.0.1:<port>, where init listens. Each connection is
 * relayed, byte for byte, to the server's egress socket next to the channel socket, where the server's proxy
 * checks the destination against the sandbox's policy. A program that ignores the proxy finds no route at all.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"

int egress_listen(uint32_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 128) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

static int connect_unix(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) return -1;
  memcpy(addr.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Copies both ways until both directions ended; a half-close is passed on. */
static void relay(int a, int b) {
  char chunk[64 * 1024];
  int a_open = 1, b_open = 1;
  while (a_open || b_open) {
    struct pollfd fds[2] = {{.fd = a, .events = a_open ? POLLIN : 0}, {.fd = b, .events = b_open ? POLLIN : 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int side = 0; side < 2; side++) {
      if (!fds[side].revents) continue;
      int from = side ? b : a, to = side ? a : b;
      ssize_t n = read(from, chunk, sizeof chunk);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        shutdown(to, SHUT_WR);
        if (side) b_open = 0;
        else a_open = 0;
        continue;
      }
      if (write_all(to, chunk, (size_t)n) < 0) return;
    }
  }
}

void egress_accept(int listen_fd, const char *egress_socket) {
  int client = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (client < 0) return;
  pid_t relay_pid = fork();
  if (relay_pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_IGN);
    close(listen_fd);
    int server = connect_unix(egress_socket);
    if (server < 0) {
      /* No server to ask: refuse at once rather than leave the program waiting. */
      static const char refused[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
          "burrow: the egress proxy is not reachable\n";
      write_all(client, refused, sizeof refused - 1);
      _exit(0);
    }
    relay(client, server);
    _exit(0);
  }
  close(client);
}
