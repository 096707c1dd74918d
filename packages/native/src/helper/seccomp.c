/*
 * The container's seccomp filter: BPF the runtime compiled (with libseccomp, in the addon), loaded
 * with seccomp(2) at the point the plan puts it (just before exec with no_new_privs; before the
 * capabilities are dropped without it, since loading then needs CAP_SYS_ADMIN). With
 * SCMP_ACT_NOTIFY rules the kernel hands back a listener fd, which goes to the seccomp agent
 * listening at linux.seccomp.listenerPath, with the container process state (config-linux.md).
 */
#include "helper.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

static struct sock_fprog decode_program(struct helper *h, const char *hex) {
  size_t length = strlen(hex);
  if (length == 0 || length % (2 * sizeof(struct sock_filter)) != 0) die(h, 0, "plan: seccomp program of %zu hex digits", length);
  unsigned char *bytes = malloc(length / 2);
  if (!bytes) die(h, ENOMEM, "seccomp");
  for (size_t i = 0; i < length / 2; i++) {
    int high = hex_digit(hex[2 * i]), low = hex_digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) die(h, 0, "plan: seccomp program is not hex");
    bytes[i] = (unsigned char)(high << 4 | low);
  }
  return (struct sock_fprog){.len = (unsigned short)(length / 2 / sizeof(struct sock_filter)), .filter = (struct sock_filter *)bytes};
}

/*
 * seccomp FLAGS PROGRAM AGENT STATE: FLAGS are SECCOMP_FILTER_FLAG_*; PROGRAM is the BPF in hex.
 * With SECCOMP_FILTER_FLAG_NEW_LISTENER, AGENT is the fd of a connection to the seccomp agent
 * (the runtime connected it to listenerPath from the host's side) and STATE the container
 * process state sent to it with the listener; otherwise AGENT is -1. Only sendmsg and close run
 * under a filter that may notify, and the agent has the listener by the time close does.
 */
void op_seccomp(struct helper *h, char **args, int nargs) {
  unsigned long flags = arg_uint(h, args[0]);
  struct sock_fprog program = decode_program(h, args[1]);
  int agent = (int)arg_int(h, args[2]);
  bool notify = flags & SECCOMP_FILTER_FLAG_NEW_LISTENER;
  if (notify != (agent >= 0)) die(h, 0, "plan: a seccomp agent without SECCOMP_FILTER_FLAG_NEW_LISTENER or the reverse");
  char *state = notify ? state_with_pid(h, args[3]) : NULL;
  long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program);
  if (listener < 0) die(h, errno, "load seccomp filter");
  free(program.filter);
  if (!notify) return;
  /* One message: the state JSON, with the listener fd (the state's "fds" names it). */
  send_fd(h, agent, (int)listener, state, "send the seccomp listener to the agent");
  close((int)listener);
  close(agent);
  free(state);
}
