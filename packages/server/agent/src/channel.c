/*
 * The agent's side of the channel (PROTOCOL.md, "Channel"): the server listens on a socket in a directory bound
 * read-only into the sandbox, and the agent connects out to it. The agent keeps a few idle connections ready; the
 * server sends a request on one, the agent hands that connection to a handler and opens a replacement. Nothing in
 * the sandbox decides where the server connects: it never connects, it accepts on this sandbox's own listener.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"

#define BACKOFF_MIN_MS 5
#define BACKOFF_MAX_MS 500

void channel_init(struct channel *ch, const char *path) {
  memset(ch, 0, sizeof *ch);
  ch->path = path;
  ch->backoff_ms = BACKOFF_MIN_MS;
  for (int i = 0; i < CHANNEL_SPARES; i++) ch->fds[i] = -1;
}

static int connect_once(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(addr.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

void channel_fill(struct channel *ch, int64_t now) {
  if (!ch->path || now < ch->next_attempt) return;
  for (int i = 0; i < CHANNEL_SPARES; i++) {
    if (ch->fds[i] >= 0) continue;
    int fd = connect_once(ch->path);
    if (fd < 0) {
      /* The server is not listening (yet, or it restarted): try again later, backing off. */
      ch->next_attempt = now + ch->backoff_ms;
      ch->backoff_ms = ch->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ch->backoff_ms * 2;
      return;
    }
    ch->fds[i] = fd;
    ch->backoff_ms = BACKOFF_MIN_MS;
  }
}

int channel_timeout(const struct channel *ch, int64_t now) {
  if (!ch->path) return -1;
  for (int i = 0; i < CHANNEL_SPARES; i++) {
    if (ch->fds[i] < 0) return ch->next_attempt <= now ? 0 : (int)(ch->next_attempt - now);
  }
  return -1;
}

int channel_pollfds(const struct channel *ch, struct pollfd *fds, int *slots) {
  int n = 0;
  for (int i = 0; i < CHANNEL_SPARES; i++) {
    slots[i] = -1;
    if (ch->fds[i] < 0) continue;
    slots[i] = n;
    fds[n++] = (struct pollfd){.fd = ch->fds[i], .events = POLLIN};
  }
  return n;
}

int channel_take(struct channel *ch, const struct pollfd *fds, const int *slots) {
  for (int i = 0; i < CHANNEL_SPARES; i++) {
    if (slots[i] < 0 || !fds[slots[i]].revents) continue;
    int fd = ch->fds[i];
    ch->fds[i] = -1;
    char peek;
    ssize_t n = recv(fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n <= 0) {
      /* The server closed its end (it stopped, or dropped a spare it did not need). */
      close(fd);
      continue;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return fd;
  }
  return -1;
}
