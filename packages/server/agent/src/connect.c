/*
 * The connect request: a TCP connection made from inside the sandbox's own network namespace (to a port of the
 * sandbox, or a host the sandbox can reach), relayed as `d` frames both ways (PROTOCOL.md, "Connect"). It serves
 * preview URLs and published ports in every network mode, `none` included, without publishing container ports.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"

#define CONNECT_TIMEOUT_MS 10000
#define RELAY_CHUNK (256 * 1024)

static int tcp_connect(const char *host, uint32_t port) {
  struct sockaddr_storage addr = {0};
  socklen_t len;
  if (!strcmp(host, "") || !strcmp(host, "localhost")) host = "127.0.0.1";
  struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    len = sizeof *v6;
  } else {
    errno = EINVAL; /* names are resolved by the server, never here */
    return -1;
  }
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, len) < 0 && errno != EINPROGRESS) goto fail;
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  int ready = poll(&p, 1, CONNECT_TIMEOUT_MS);
  if (ready == 0) errno = ETIMEDOUT;
  if (ready <= 0) goto fail;
  int err = 0;
  socklen_t errlen = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen);
  if (err) {
    errno = err;
    goto fail;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
fail: {
  int saved = errno;
  close(fd);
  errno = saved;
  return -1;
}
}

void do_connect(struct conn *c, const char *host, uint32_t port) {
  if (port == 0 || port > 65535) return (void)send_fail(c, EINVAL, "the port must be from 1 to 65535");
  int fd = tcp_connect(host, port);
  if (fd < 0) return (void)send_fail(c, errno, NULL);
  if (send_done(c, 0) < 0) return;
  char *chunk = xmalloc(RELAY_CHUNK);
  struct buf frame = {0};
  int to_target = 1, from_target = 1;
  while (to_target || from_target) {
    struct pollfd fds[2] = {{.fd = c->in, .events = to_target ? POLLIN : 0},
                            {.fd = fd, .events = from_target ? POLLIN : 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) {
      char type;
      if (read_frame(c, &type, &frame) < 0) break; /* the client went away: drop the connection */
      if (type == 'd') {
        int flags = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        if (write_all(fd, frame.data, frame.len) < 0) to_target = 0;
        fcntl(fd, F_SETFL, flags);
      } else if (type == 'e') {
        shutdown(fd, SHUT_WR);
        to_target = 0;
      } else {
        break;
      }
    }
    if (fds[1].revents) {
      ssize_t n = read(fd, chunk, RELAY_CHUNK);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        if (send_frame(c, 'e', NULL, 0) < 0) break;
        from_target = 0;
      } else if (send_frame(c, 'd', chunk, (size_t)n) < 0) {
        break;
      }
    }
  }
  close(fd);
}
