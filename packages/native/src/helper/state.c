/*
 * The container's state (runtime-spec state.md) as hooks and seccomp agents receive it. The
 * runtime writes the JSON with a 0x01 byte wherever the container's pid goes (JSON escapes
 * control characters, so the byte appears nowhere else); the pid is known only here.
 */
#include "helper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PID_MARK '\x01'

char *state_with_pid(struct helper *h, const char *template) {
  size_t marks = 0;
  for (const char *c = template; *c; c++) marks += *c == PID_MARK;
  char *out = malloc(strlen(template) + marks * 12 + 1);
  if (!out) die(h, ENOMEM, "container state");
  char *at = out;
  for (const char *c = template; *c; c++) {
    if (*c == PID_MARK) at += sprintf(at, "%d", h->pid);
    else *at++ = *c;
  }
  *at = '\0';
  return out;
}

/* The pid as the runtime sees it: /proc is still the host's until the container mounts its own. */
void remember_pid(struct helper *h) {
  char link[32];
  ssize_t n = readlink("/proc/self", link, sizeof link - 1);
  if (n < 0) die(h, errno, "read /proc/self");
  link[n] = '\0';
  h->pid = (int)strtol(link, NULL, 10);
}
