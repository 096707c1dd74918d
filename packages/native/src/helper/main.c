/*
 * Entry point: `oci-helper plan FD` reads a plan from the socket FD and runs it;
 * `oci-helper --version` prints the version. See helper.h for what the helper is.
 */
#include "helper.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HELPER_VERSION "0.3.0"
/* A plan is a few kilobytes; this bounds what a confused sender can make us allocate. */
#define MAX_PLAN (16u << 20)

static void read_exactly(struct helper *h, void *buf, size_t length) {
  char *at = buf;
  while (length > 0) {
    ssize_t n = read(h->sync_fd, at, length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die(h, errno, "read plan");
    if (n == 0) die(h, 0, "read plan: the runtime closed the socket early");
    at += n;
    length -= (size_t)n;
  }
}

/*
 * Signal dispositions and the mask pass through exec: a container must not inherit what its
 * spawner ignored or blocked. Through the raw syscall, because glibc's sigaction refuses the
 * two signals it reserves (32 and 33), which Node leaves ignored.
 */
static void reset_signals(void) {
  struct {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
  } dfl = {.handler = SIG_DFL};
  for (int sig = 1; sig <= 64; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

static int usage(void) {
  fprintf(stderr, "oci-helper: usage: oci-helper plan FD | oci-helper --version\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    printf("oci-helper %s (protocol %d)\n", HELPER_VERSION, HELPER_PROTOCOL);
    return 0;
  }
  if (argc != 3 || strcmp(argv[1], "plan") != 0) return usage();
  char *end;
  long fd = strtol(argv[2], &end, 10);
  if (*argv[2] == '\0' || *end != '\0' || fd < 3 || fd > INT_MAX) return usage();

  struct helper h = {.report_fd = (int)fd, .sync_fd = (int)fd, .root_fd = -1, .start_fd = -1, .container_fd = -1};
  /* Until it execs the container's program, nothing inside may ptrace us or read our /proc
     files (our fds reach outside the container); execve restores dumpability. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) die(&h, errno, "prctl PR_SET_DUMPABLE");
  /* Killed midway, the runtime would leave us joined to the container's cgroups or namespaces. */
  die_with_runtime(&h);
  /* Modes in the plan (devices, mount points) are exact; the container's umask is an op. */
  umask(0);
  reset_signals();

  unsigned char header[4];
  read_exactly(&h, header, sizeof header);
  uint32_t length = header[0] | header[1] << 8 | header[2] << 16 | (uint32_t)header[3] << 24;
  if (length > MAX_PLAN) die(&h, 0, "read plan: %u bytes is too large", length);
  char *plan = malloc(length ? length : 1);
  if (!plan) die(&h, ENOMEM, "read plan");
  read_exactly(&h, plan, length);
  run_plan(&h, plan, length);
  return 0;
}
