/*
 * Resolves Docker-style user specs (name, uid, name:group, uid:gid) by parsing /etc/passwd and /etc/group inside
 * the sandbox (no NSS: static binary, any image), then drops to that user as runc does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define MAX_GROUPS 64

struct account {
  uid_t uid;
  gid_t gid;
  char name[256];
  char home[1024];
  int found;
};

static int parse_id(const char *s, unsigned long *out) {
  if (!*s) return -1;
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end) return -1;
  *out = v;
  return 0;
}

/* Splits a colon-separated line in place into at most `max` fields; returns the field count. */
static int split_fields(char *line, char **fields, int max) {
  int n = 0;
  fields[n++] = line;
  for (char *p = line; *p && n < max; p++) {
    if (*p == ':') {
      *p = 0;
      fields[n++] = p + 1;
    }
  }
  return n;
}

static void lookup_passwd(const char *user, struct account *acct) {
  unsigned long numeric = 0;
  int by_id = parse_id(user, &numeric) == 0;
  FILE *f = fopen("/etc/passwd", "re");
  if (!f) return;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *fields[7];
    if (split_fields(line, fields, 7) < 7) continue;
    unsigned long uid, gid;
    if (parse_id(fields[2], &uid) < 0 || parse_id(fields[3], &gid) < 0) continue;
    if (by_id ? uid != numeric : strcmp(fields[0], user) != 0) continue;
    acct->uid = (uid_t)uid;
    acct->gid = (gid_t)gid;
    snprintf(acct->name, sizeof acct->name, "%s", fields[0]);
    snprintf(acct->home, sizeof acct->home, "%s", fields[5]);
    acct->found = 1;
    break;
  }
  fclose(f);
}

/* Resolves a group name or id; -1 when a name is unknown. */
static int lookup_group(const char *group, gid_t *out) {
  unsigned long numeric;
  if (parse_id(group, &numeric) == 0) {
    *out = (gid_t)numeric;
    return 0;
  }
  FILE *f = fopen("/etc/group", "re");
  if (!f) return -1;
  char line[8192];
  int rc = -1;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *fields[4];
    if (split_fields(line, fields, 4) < 3) continue;
    unsigned long gid;
    if (strcmp(fields[0], group) == 0 && parse_id(fields[2], &gid) == 0) {
      *out = (gid_t)gid;
      rc = 0;
      break;
    }
  }
  fclose(f);
  return rc;
}

/* Supplementary groups: every group of /etc/group that lists `name` as a member. */
static int member_groups(const char *name, gid_t *groups, int max) {
  int n = 0;
  if (!*name) return 0;
  FILE *f = fopen("/etc/group", "re");
  if (!f) return 0;
  char line[8192];
  while (n < max && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    char *fields[4];
    if (split_fields(line, fields, 4) < 4) continue;
    unsigned long gid;
    if (parse_id(fields[2], &gid) < 0) continue;
    for (char *member = strtok(fields[3], ","); member; member = strtok(NULL, ",")) {
      if (strcmp(member, name) == 0) {
        groups[n++] = (gid_t)gid;
        break;
      }
    }
  }
  fclose(f);
  return n;
}

/* Copies a user spec, refusing (never truncating) one that is too long. */
static int copy_spec(const char *spec, char *user, size_t cap) {
  size_t len = strlen(spec);
  if (len >= cap) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(user, spec, len + 1);
  return 0;
}

int become_user(const char *spec, char *err, size_t errlen) {
  if (!spec || !*spec) return 0;
  char user[MAX_USER_SPEC];
  if (copy_spec(spec, user, sizeof user) < 0) {
    snprintf(err, errlen, "the user is longer than %d bytes", MAX_USER_SPEC - 1);
    return -1;
  }
  char *group = strchr(user, ':');
  if (group) *group++ = 0;

  struct account acct = {0};
  lookup_passwd(user, &acct);
  if (!acct.found) {
    unsigned long numeric;
    if (parse_id(user, &numeric) < 0) {
      snprintf(err, errlen, "unable to find user %s", user);
      errno = EINVAL;
      return -1;
    }
    acct.uid = (uid_t)numeric;
    acct.gid = 0;
    snprintf(acct.home, sizeof acct.home, "/");
  }
  gid_t gid = acct.gid;
  if (group && lookup_group(group, &gid) < 0) {
    snprintf(err, errlen, "unable to find group %s", group);
    errno = EINVAL;
    return -1;
  }

  gid_t groups[MAX_GROUPS + 1];
  int ngroups = 0;
  groups[ngroups++] = gid;
  ngroups += member_groups(acct.name, groups + 1, MAX_GROUPS);

  if (getuid() == 0) {
    if (setgroups((size_t)ngroups, groups) < 0 || setgid(gid) < 0 || setuid(acct.uid) < 0) {
      snprintf(err, errlen, "cannot switch to user %s: %s", spec, strerror(errno));
      return -1;
    }
  } else if (getuid() != acct.uid) {
    snprintf(err, errlen, "cannot switch to user %s: the agent does not run as root", spec);
    errno = EPERM;
    return -1;
  }
  /* runc gives the agent (root) HOME=/root; a non-root user gets their own, unless the image set another HOME. */
  const char *home = getenv("HOME");
  if (!home || (acct.uid != 0 && strcmp(home, "/root") == 0)) setenv("HOME", acct.home[0] ? acct.home : "/", 1);
  return 0;
}

int user_ids(const char *spec, uid_t *uid, gid_t *gid) {
  *uid = getuid();
  *gid = getgid();
  if (!spec || !*spec) return 0;
  char user[MAX_USER_SPEC];
  if (copy_spec(spec, user, sizeof user) < 0) return -1;
  char *colon = strchr(user, ':');
  if (colon) *colon = 0;
  struct account acct = {0};
  lookup_passwd(user, &acct);
  unsigned long numeric;
  if (acct.found) {
    *uid = acct.uid;
    *gid = acct.gid;
  } else if (parse_id(user, &numeric) == 0) {
    *uid = (uid_t)numeric;
    *gid = 0;
  } else {
    return -1;
  }
  return 0;
}

int prepare_home(const char *spec) {
  if (!spec || !*spec) return 0;
  char user[MAX_USER_SPEC];
  if (copy_spec(spec, user, sizeof user) < 0) return -1;
  char *colon = strchr(user, ':');
  if (colon) *colon = 0;
  struct account acct = {0};
  lookup_passwd(user, &acct);
  if (!acct.found || acct.uid == 0 || !acct.home[0] || !strcmp(acct.home, "/")) return 0;
  struct stat st;
  if (stat(acct.home, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0) return 0;
  /* A tmpfs mounted over the home directory starts out root-owned; the user must own their home. */
  return chown(acct.home, acct.uid, acct.gid);
}
