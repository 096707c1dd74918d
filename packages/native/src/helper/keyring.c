/*
 * The container's own session keyring (runc's default): without it the container would share
 * the session keyring of whoever ran the runtime, and any key in it.
 */
#include "helper.h"

#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The "user may search" permission (KEY_USR_SEARCH in keyutils.h). */
#define KEY_USER_SEARCH 0x00080000U

/* session_keyring NAME: joins a new session keyring named NAME, searchable by its owner. */
void op_session_keyring(struct helper *h, char **args, int nargs) {
  long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, args[0], 0, 0, 0);
  if (id < 0) {
    /* Kernels without keyrings: the protection is best effort, as in runc. */
    if (errno == ENOSYS) return;
    die(h, errno, "join session keyring %s", args[0]);
  }
  /* KEYCTL_DESCRIBE gives "type;uid;gid;perm;description", perm in hex. */
  char description[512];
  long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, id, description, sizeof description - 1, 0);
  if (n < 0) die(h, errno, "describe session keyring %s", args[0]);
  description[n < (long)sizeof description ? n : (long)sizeof description - 1] = '\0';
  const char *field = description;
  for (int i = 0; i < 3 && field; i++) field = strchr(field, ';') ? strchr(field, ';') + 1 : NULL;
  if (!field) die(h, 0, "describe session keyring %s: unexpected answer", args[0]);
  unsigned long perm = strtoul(field, NULL, 16) | KEY_USER_SEARCH;
  if (syscall(SYS_keyctl, KEYCTL_SETPERM, id, perm, 0, 0) < 0) die(h, errno, "set permissions of session keyring %s", args[0]);
}
