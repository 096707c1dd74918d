/*
 * Namespaces: joining existing ones (setns), creating the container's first process in new
 * ones (clone), entering a running container's (container, join: for exec), the time
 * namespace's offsets, and the UTS names.
 */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
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
 * container PID STARTTIME: the running container whose namespaces `join` enters, named by a
 * pidfd of its first process. STARTTIME (field 22 of /proc/PID/stat, read after the pidfd is
 * open) tells that process from a later one that reused its pid: once it matches, the pidfd
 * names the container's process for good, whatever happens to the pid.
 */
void op_container(struct helper *h, char **args, int nargs) {
  pid_t pid = (pid_t)arg_int(h, args[0]);
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0 && errno == ESRCH) die(h, 0, "container not running");
  if (fd < 0) die(h, errno, "open container process %d", pid);
  char path[64], stat[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int file = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n = file < 0 ? -1 : read(file, stat, sizeof stat - 1);
  int err = errno;
  if (file >= 0) close(file);
  /* Gone since (ENOENT, ESRCH): the comparison below fails on the empty text. */
  if (n < 0 && err != ESRCH && err != ENOENT) die(h, err, "read %s", path);
  stat[n < 0 ? 0 : n] = '\0';
  /* The name in parentheses may hold spaces: fields are counted after its closing one. */
  const char *field = strrchr(stat, ')');
  char state = field && field[1] ? field[2] : 'X';
  for (int i = 3; field && i <= 22; i++) field = strchr(field + 1, ' ');
  size_t length = field ? strcspn(field + 1, " ") : 0;
  bool same = field && length == strlen(args[1]) && strncmp(field + 1, args[1], length) == 0;
  if (!same || state == 'Z' || state == 'X') die(h, 0, "container not running");
  h->container_fd = fd;
}

/* join FLAGS: enters the namespaces FLAGS (CLONE_NEW*) of the `container`, all at once
   (setns on its pidfd, which also takes the user namespace first when it is among them). */
void op_join(struct helper *h, char **args, int nargs) {
  int flags = (int)arg_uint(h, args[0]);
  if (h->container_fd < 0) die(h, 0, "plan: join before container");
  if (setns(h->container_fd, flags) < 0) die(h, errno, "join the container's namespaces");
  if (flags & CLONE_NEWNS) h->pivoted = true;
}

/*
 * clone FLAGS CGROUP2: creates the container's first process with the CLONE_NEW* flags given
 * (with CLONE_NEWUSER, the maps of a preceding id_maps op are written before it goes on),
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
  /* With a user namespace the child waits on this pipe until we have written its maps. It is
     born dumpable: /proc/PID files of a non-dumpable process belong to root, and an
     unprivileged caller could not write its maps (runc's init does the same dance). */
  int go[2] = {-1, -1};
  if (h->maps.uid && pipe2(go, O_CLOEXEC) < 0) die(h, errno, "clone: pipe");
  if (h->maps.uid && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) die(h, errno, "prctl PR_SET_DUMPABLE");
  pid_t pid = (pid_t)syscall(SYS_clone3, &clone, sizeof clone);
  if (pid < 0) die(h, errno, *cgroup ? "clone into cgroup %s" : "clone", cgroup);
  /* A directory of the host: left open, the container could reach the host's tree through
     /proc/self/fd (CVE-2024-21626). */
  if (*cgroup) close((int)clone.cgroup);
  if (pid > 0) {
    send_message(h->sync_fd, "pid %d", pid);
    if (h->maps.uid) write_id_maps(h, pid, go[1]);
    _exit(0);
  }
  if (h->maps.uid) {
    close(go[1]);
    wait_id_maps(h, go[0]);
  }
  /* If the runtime dies before it recorded us, nobody would ever start or delete us: die with
     it (`ready` undoes this, and `exec` outside the foreground; a clone does not inherit the
     helper's). */
  die_with_runtime(h);
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
