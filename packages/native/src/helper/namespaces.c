/*
 * Namespaces: joining existing ones (setns), creating the container's first process in new
 * ones (clone), the time namespace's offsets, and the UTS names.
 */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* setns PATH TYPE: joins the namespace at PATH (/proc/PID/ns/net…); TYPE is its CLONE_NEW* flag. */
void op_setns(struct helper *h, char **args, int nargs) {
  const char *path = args[0];
  int type = (int)arg_uint(h, args[1]);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(h, errno, "join namespace %s", path);
  if (setns(fd, type) < 0) die(h, errno, "join namespace %s", path);
  close(fd);
}

/*
 * clone FLAGS CGROUP2: creates the container's first process with the CLONE_NEW* flags given,
 * born in the cgroup v2 directory CGROUP2 when it is not empty (CLONE_INTO_CGROUP: no
 * migration, so none of the global lock a cgroup.procs write takes). It is cloned with
 * CLONE_PARENT, so it is the runtime's child rather than ours: the runtime can wait for it,
 * and once the runtime exits it is reparented to the engine's subreaper, as runc's init is.
 * This process reports the child's pid and exits; the child runs the rest of the plan.
 */
void op_clone(struct helper *h, char **args, int nargs) {
  /* No exit_signal: with CLONE_PARENT the child signals our parent as we would (SIGCHLD). */
  struct clone_args clone = {.flags = arg_uint(h, args[0]) | CLONE_PARENT};
  const char *cgroup = args[1];
  if (*cgroup) {
    int fd = open(cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) die(h, errno, "open cgroup %s", cgroup);
    clone.flags |= CLONE_INTO_CGROUP;
    clone.cgroup = (uint64_t)fd;
  }
  pid_t pid = (pid_t)syscall(SYS_clone3, &clone, sizeof clone);
  if (pid < 0) die(h, errno, *cgroup ? "clone into cgroup %s" : "clone", cgroup);
  if (pid > 0) {
    send_message(h->sync_fd, "pid %d", pid);
    _exit(0);
  }
  /* If the runtime dies before the container is ready, nobody would ever start or delete it:
     die with it (`ready` undoes this). Had it died already, before this prctl, writing "ready"
     to its closed socket kills us with SIGPIPE. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) die(h, errno, "prctl PR_SET_PDEATHSIG");
  remember_pid(h);
}

/* timens MONOTONIC_S MONOTONIC_NS BOOTTIME_S BOOTTIME_NS: a new time namespace for the process
   `clone` creates next (CLONE_NEWTIME cannot be passed to clone itself), with its offsets. */
void op_timens(struct helper *h, char **args, int nargs) {
  if (unshare(CLONE_NEWTIME) < 0) die(h, errno, "create time namespace");
  char offsets[256];
  snprintf(offsets, sizeof offsets, "monotonic %lld %lld\nboottime %lld %lld\n", arg_int(h, args[0]),
           arg_int(h, args[1]), arg_int(h, args[2]), arg_int(h, args[3]));
  if (write_file("/proc/self/timens_offsets", offsets) < 0) die(h, errno, "write time namespace offsets");
}

void op_hostname(struct helper *h, char **args, int nargs) {
  if (sethostname(args[0], strlen(args[0])) < 0) die(h, errno, "set hostname %s", args[0]);
}

void op_domainname(struct helper *h, char **args, int nargs) {
  if (setdomainname(args[0], strlen(args[0])) < 0) die(h, errno, "set domainname %s", args[0]);
}
