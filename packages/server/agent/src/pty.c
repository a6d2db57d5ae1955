/* Pseudo-terminals for exec and background processes: a master for the agent, a slave as the child's terminal. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"

int pty_open(int *master, char *slave_path, size_t len, uint32_t cols, uint32_t rows) {
  int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return -1;
  if (grantpt(fd) < 0 || unlockpt(fd) < 0 || ptsname_r(fd, slave_path, len) != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  pty_resize(fd, cols, rows);
  *master = fd;
  return 0;
}

int pty_resize(int master, uint32_t cols, uint32_t rows) {
  struct winsize size = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  return ioctl(master, TIOCSWINSZ, &size);
}

/* In the child, before exec: a new session whose controlling terminal is the slave, on fds 0-2, owned by `user`. */
int pty_attach_child(const char *slave_path, const char *user) {
  if (setsid() < 0) return -1;
  /* O_NOCTTY, then TIOCSCTTY: opening without it would already make it the controlling terminal on Linux, and
   * gVisor then refuses the ioctl (EINVAL: "already has a controlling terminal"). */
  int slave = open(slave_path, O_RDWR | O_NOCTTY);
  if (slave < 0) return -1;
  uid_t uid;
  gid_t gid;
  if (user_ids(user, &uid, &gid) == 0 && uid != 0) fchown(slave, uid, gid);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) return -1;
  if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) return -1;
  if (slave > 2) close(slave);
  return 0;
}
