/*
 * oci-helper: the process that becomes a container's first process.
 *
 * Node is multi-threaded, so it cannot safely clone into new namespaces, setns or pivot_root;
 * this single-threaded helper does that work. It holds no policy: it runs, in order, the ops of
 * a plan that the runtime (TypeScript) computed and validated (see plan.c for the wire format).
 * Each op lives in the file of its concern; plan.c's table names them all.
 */
#pragma once

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdnoreturn.h>
#include <sys/types.h>

/* The plan's wire protocol (plan.c); OP_SIGNATURES and HELPER_PROTOCOL in the runtime's
   plan/ops.ts are its other side, and a test holds the two together. */
#define HELPER_PROTOCOL 1

/* What the ops share while a plan runs. */
struct helper {
  /* Where a failure is reported: the sync socket, then the connection `start` opened. */
  int report_fd;
  /* The socket the runtime spawned us with: it sent the plan and reads our messages. */
  int sync_fd;
  /* The container's root (an O_PATH fd), once the `rootfs` op ran; -1 before. */
  int root_fd;
  /* The rootfs op's host path: a mount on the root (an overlay) is reached through it again. */
  const char *rootfs;
  /* After pivot_root or chroot, or once in a running container's mount namespace, container
     paths are plain paths again. */
  bool pivoted;
  /* The container `join` enters (a pidfd of its first process, see `container`); -1 before. */
  int container_fd;
  /* The slave of the terminal the `console` op opened ("/dev/pts/N"); empty before. */
  char terminal[32];
  /* The listening socket `oci start` connects to (see start.c). */
  int start_fd;
  /* The program `exec` runs, as `find_program` resolved it. */
  char program[PATH_MAX];
  /* The container process's pid as the runtime sees it (hooks and seccomp agents get it). */
  int pid;
  /* The program dies with the runtime (op foreground); else it outlives it. */
  bool foreground;
  /* The maps of the user namespace `clone` creates (op id_maps); uid NULL: none. */
  struct {
    const char *uid, *gid, *setgroups, *newuidmap, *newgidmap;
  } maps;
};

/* An op's entry point: args are the op's arguments, already counted against the op table. */
typedef void op_fn(struct helper *h, char **args, int nargs);

/*
 * Reports "<what>: <ERRNO NAME>" (or just "<what>" when err is 0) to the runtime and exits 1.
 * Every failure goes through here, so the runtime always learns which step failed and why.
 */
noreturn void die(struct helper *h, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sends one NUL-terminated message to the runtime ("pid 42", "ready", "error …"). */
void send_message(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sends fd with SCM_RIGHTS and `payload` (not empty: ancillary data needs a byte to travel
   with) over a unix stream socket; dies with `what` on failure. */
void send_fd(struct helper *h, int socket, int fd, const char *payload, const char *what);

/* Argument parsing shared by the ops; a malformed number is a plan error. */
long long arg_int(struct helper *h, const char *arg);
uint64_t arg_uint(struct helper *h, const char *arg);

/* Writes `content` to an existing file (cgroup.procs, /proc/sys/…), failing with errno. */
int write_file(const char *path, const char *content);

/* Container paths (paths.c): resolved with symlinks as if the container's root were "/". */
enum create { CREATE_NOTHING, CREATE_DIRECTORY, CREATE_FILE };
/* Opens `path` (O_PATH) inside the root, or returns -1 with errno set. */
int find_in_root(struct helper *h, const char *path);
/* Opens `path` (O_PATH) inside the root, creating what is missing as asked; dies naming `what`. */
int open_in_root(struct helper *h, const char *path, enum create create, const char *what);
/* Opens (creating) the directory holding `path`; *name is then its last component. */
int open_parent_in_root(struct helper *h, const char *path, const char **name, const char *what);
/* Opens `path` (O_PATH) inside the root without following any symlink on the way, or returns -1
   with errno set (ELOOP for a symlink). For what must be exactly what its name says: the null
   device a mask binds, the /dev/console a terminal is bound over. */
int find_exact_in_root(struct helper *h, const char *path);

/* Mounts on an open target (mounts.c), so that no container path is walked twice: mount(2) with
   the flags and data of the mount op, and a bind of the open `source` (whole or, with
   `recursive`, with what is mounted under it). Both return -1 with errno set on failure. */
int mount_at(int target, const char *source, const char *fstype, unsigned long flags, const char *data);
int bind_fd_at(int source, bool recursive, int target);

/* Copies the tree under the open directory `from` into `to` (copy.c): owners, modes, times;
   symlinks as symlinks; dies naming `what`. */
void copy_tree(struct helper *h, int from, int to, const char *what);

/* The container's state JSON for hooks and agents: each 0x01 byte of `template` becomes the pid. */
char *state_with_pid(struct helper *h, const char *template);
/* Records h->pid; called in the container's first process while /proc is still the host's. */
void remember_pid(struct helper *h);

/* User namespace maps (userns.c): written by `clone`'s parent side, awaited by its child. */
void write_id_maps(struct helper *h, pid_t pid, int go);
void wait_id_maps(struct helper *h, int go);

/* Dying with the runtime until it recorded us (lifeline.c): the parent-death signal, and an
   exit if the runtime is gone already. outlive_runtime undoes it. */
void die_with_runtime(struct helper *h);
void outlive_runtime(struct helper *h);

/* Waits for the runtime's one-byte go-ahead (hooks.c); dies naming `after` if it went away. */
void wait_go_ahead(struct helper *h, const char *after);

/* The ops, by concern. */
op_fn op_cgroup;                                                                   /* cgroups.c */
op_fn op_setns, op_clone, op_timens, op_hostname, op_domainname;                   /* namespaces.c */
op_fn op_container, op_join;                                                       /* namespaces.c */
op_fn op_propagate, op_rootfs, op_mount, op_remount, op_remount_readonly, op_mkdirs; /* mounts.c */
op_fn op_pivot_root, op_chroot, op_mask, op_readonly_path;                         /* mounts.c */
op_fn op_mknod, op_symlink;                                                        /* devices.c */
op_fn op_console, op_dev_console;                                                  /* console.c */
op_fn op_setsid, op_oom_score_adj, op_rlimit, op_sysctl, op_no_new_privs;          /* process.c */
op_fn op_umask, op_chdir, op_close_fds, op_find_program, op_exec;                  /* process.c */
op_fn op_credentials;                                                              /* credentials.c */
op_fn op_start_socket, op_ready, op_wait_start;                                    /* start.c */
op_fn op_session_keyring;                                                          /* keyring.c */
op_fn op_seccomp;                                                                  /* seccomp.c */
op_fn op_sync, op_hook;                                                            /* hooks.c */
op_fn op_id_maps;                                                                  /* userns.c */
op_fn op_foreground;                                                               /* lifeline.c */

/* Runs a decoded plan (plan.c). */
void run_plan(struct helper *h, char *plan, size_t length);
