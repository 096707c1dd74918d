/*
 * The container process's own settings: session, oom score, rlimits, sysctls, no_new_privs,
 * umask, cwd, inherited fds, and finally the program: found before `start`, run after it.
 */
#include "helper.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* setsid: a new session, so a terminal can become the controlling one and job control works. */
void op_setsid(struct helper *h, char **args, int nargs) {
  if (setsid() < 0) die(h, errno, "setsid");
}

/* oom_score_adj N: inherited by everything the container forks. */
void op_oom_score_adj(struct helper *h, char **args, int nargs) {
  arg_int(h, args[0]);
  if (write_file("/proc/self/oom_score_adj", args[0]) < 0) die(h, errno, "set oom_score_adj %s", args[0]);
}

/* rlimit RESOURCE SOFT HARD: RESOURCE is an RLIMIT_* number; RLIM_INFINITY is all ones. */
void op_rlimit(struct helper *h, char **args, int nargs) {
  int resource = (int)arg_uint(h, args[0]);
  struct rlimit limit = {.rlim_cur = arg_uint(h, args[1]), .rlim_max = arg_uint(h, args[2])};
  if (setrlimit(resource, &limit) < 0) die(h, errno, "set rlimit %d", resource);
}

/* sysctl PATH VALUE: PATH is relative to /proc/sys (net/ipv4/ip_forward). */
void op_sysctl(struct helper *h, char **args, int nargs) {
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "/proc/sys/%s", args[0]) >= sizeof path) die(h, ENAMETOOLONG, "set sysctl %s", args[0]);
  if (write_file(path, args[1]) < 0) die(h, errno, "set sysctl %s", args[0]);
}

void op_no_new_privs(struct helper *h, char **args, int nargs) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die(h, errno, "prctl PR_SET_NO_NEW_PRIVS");
}

void op_umask(struct helper *h, char **args, int nargs) {
  umask((mode_t)arg_uint(h, args[0]));
}

/*
 * chdir PATH, then a check that the cwd is inside the container's root: reached through an fd
 * of the host (a /proc/self/fd/N link, CVE-2024-21626), it would give the program the host's
 * tree. The kernel's getcwd marks a cwd the root cannot reach "(unreachable)".
 */
void op_chdir(struct helper *h, char **args, int nargs) {
  if (chdir(args[0]) < 0) die(h, errno, "chdir to cwd %s", args[0]);
  char cwd[PATH_MAX];
  long length = syscall(SYS_getcwd, cwd, sizeof cwd);
  if (length < 0) die(h, errno, "chdir to cwd %s: getcwd", args[0]);
  if (cwd[0] != '/') die(h, 0, "chdir to cwd %s: it is outside the container's root", args[0]);
}

/* close_fds FIRST: every fd from FIRST up is closed when the program is exec'd (the ones below
   are stdio and the fds passed on purpose). CLOEXEC rather than close: the sync socket and the
   start socket are still needed until then. */
void op_close_fds(struct helper *h, char **args, int nargs) {
  unsigned first = (unsigned)arg_uint(h, args[0]);
  if (close_range(first, ~0U, CLOSE_RANGE_CLOEXEC) < 0) die(h, errno, "close fds from %u", first);
}

/* Go's wording, which runc prints and engines (podman) match on: "no such file or directory". */
static const char *error_text(int err) {
  static char text[128];
  snprintf(text, sizeof text, "%s", strerror(err));
  text[0] = (char)tolower((unsigned char)text[0]);
  return text;
}

static int executable(const char *path) {
  struct stat st;
  if (stat(path, &st) < 0) return -1;
  if (S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return -1;
  }
  return access(path, X_OK);
}

/*
 * find_program NAME PATH: resolves the program as execvp would, with the container's PATH, in
 * the container's root. Done before `ready`, so a missing program fails `create`, as in runc.
 */
void op_find_program(struct helper *h, char **args, int nargs) {
  const char *name = args[0], *search = args[1];
  if (strchr(name, '/')) {
    if (executable(name) < 0) die(h, 0, "exec: \"%s\": stat %s: %s", name, name, error_text(errno));
    snprintf(h->program, sizeof h->program, "%s", name);
    return;
  }
  for (const char *dir = search; *search;) {
    const char *end = strchrnul(dir, ':');
    int length = (int)(end - dir);
    /* An empty PATH entry means the current directory. */
    snprintf(h->program, sizeof h->program, "%.*s%s%s", length, dir, length ? "/" : "", name);
    if (executable(h->program) == 0) return;
    if (*end == '\0') break;
    dir = end + 1;
  }
  die(h, 0, "exec: \"%s\": executable file not found in $PATH", name);
}

/* exec ARGC ARGV… ENV…: runs the program `find_program` found. */
void op_exec(struct helper *h, char **args, int nargs) {
  long long argc = arg_int(h, args[0]);
  if (argc < 1 || argc > nargs - 1) die(h, 0, "plan: exec has %lld arguments but %d fields", argc, nargs - 1);
  if (!h->program[0]) die(h, 0, "plan: exec before find_program");
  char **argv = &args[1];
  char **envp = calloc((size_t)(nargs - argc), sizeof *envp);
  if (!envp) die(h, ENOMEM, "exec %s", h->program);
  memcpy(envp, &args[1 + argc], (size_t)(nargs - 1 - argc) * sizeof *envp);
  char *saved = argv[argc];
  argv[argc] = NULL;
  /* The parent-death signal survives execve: a program in the runtime's foreground keeps it (set
     again, as a change of credentials clears it), any other outlives the runtime. */
  if (h->foreground) die_with_runtime(h);
  else outlive_runtime(h);
  /* To an exec's runtime, still listening (a created container's went away at `ready`): its
     end of the socket closes on exec, or carries the error below. */
  if (h->sync_fd >= 0) send_message(h->sync_fd, "exec");
  execve(h->program, argv, envp);
  argv[argc] = saved;
  die(h, 0, "exec: \"%s\": %s", h->program, error_text(errno));
}
