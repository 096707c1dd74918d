/*
 * The helper and the container's process die with the runtime that started them until it has
 * recorded them: a process nothing names (no state, no pid file) could never be found again,
 * not even by `delete --force`. The parent-death signal does it, with one gap closed here: a
 * runtime that died before the signal was asked for never sends it, and is seen instead as
 * the far end of the socket to it closed (POLLHUP). A program in the runtime's foreground
 * (`run`, `exec` without --detach) dies with it for good; any other outlives it.
 */
#include "helper.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

void die_with_runtime(struct helper *h) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) die(h, errno, "prctl PR_SET_PDEATHSIG");
  /* report_fd is the runtime's: the sync socket, or for a foreground run the connection of
     its `start`. */
  struct pollfd runtime = {.fd = h->report_fd};
  if (poll(&runtime, 1, 0) == 1 && runtime.revents & (POLLHUP | POLLERR)) _exit(1);
}

void outlive_runtime(struct helper *h) {
  if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0) die(h, errno, "prctl PR_SET_PDEATHSIG");
}

/* foreground: the program runs in the runtime's foreground; `exec` ties it to the runtime. */
void op_foreground(struct helper *h, char **args, int nargs) {
  h->foreground = true;
}
