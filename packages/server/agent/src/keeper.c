/*
 * A background process's keeper: a child of init that is the subreaper of the command and everything it starts,
 * so the whole tree can be killed even after descendants daemonise. It tells init the command's pid, then its wait
 * status, and lives on until the last descendant ended. SIGUSR1 from init means "kill the whole tree".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"

static void put_u32(int fd, uint32_t v) {
  unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
  write_all(fd, b, 4);
}

/* Closes every descriptor init held but the keeper does not need (other processes' pipes, clients, the channel). */
static void close_others(const int *keep, int nkeep) {
  DIR *dir = opendir("/proc/self/fd");
  int scanned = dir != NULL;
  int fds[4096];
  int n = 0;
  if (dir) {
    struct dirent *entry;
    while ((entry = readdir(dir)) && n < (int)(sizeof fds / sizeof fds[0])) {
      char *end;
      long fd = strtol(entry->d_name, &end, 10);
      if (*end || fd < 3 || fd == dirfd(dir)) continue;
      fds[n++] = (int)fd;
    }
    closedir(dir);
  }
  if (!scanned)
    for (int fd = 3; fd < 4096 && n < (int)(sizeof fds / sizeof fds[0]); fd++) fds[n++] = fd;
  for (int i = 0; i < n; i++) {
    int kept = 0;
    for (int k = 0; k < nkeep; k++) kept |= keep[k] == fds[i];
    if (!kept) close(fds[i]);
  }
}

_Noreturn void keeper_main(const struct spawn_req *req, struct spawn_io *io, int stage_fd, int status_fd) {
  int keep[] = {io->out[1], io->err[1], io->in[0], io->master, stage_fd, status_fd};
  close_others(keep, (int)(sizeof keep / sizeof keep[0]));
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sigfd = signalfd(-1, &set, SFD_CLOEXEC);
  pid_t child = fork();
  if (child == 0) {
    close(status_fd);
    if (sigfd >= 0) close(sigfd);
    spawn_child(req, io, stage_fd);
  }
  close(stage_fd);
  spawn_io_close(io);
  if (child < 0) _exit(1);
  put_u32(status_fd, (uint32_t)child);
  int reported = 0;
  for (;;) {
    struct signalfd_siginfo info;
    if (sigfd < 0 || read(sigfd, &info, sizeof info) != (ssize_t)sizeof info) {
      if (sigfd >= 0 && errno == EINTR) continue;
      pause();
      continue;
    }
    if (info.ssi_signo == SIGUSR1) {
      kill_tree(child);
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == child && !reported) {
        put_u32(status_fd, (uint32_t)status);
        reported = 1;
      }
    }
    if (pid < 0 && errno == ECHILD) _exit(0);
  }
}
