/*
 * The plan's wire format and its interpreter.
 *
 * The runtime sends, on the sync socket, a 4-byte little-endian length and then that many bytes:
 * a sequence of ops, each `NAME\0COUNT\0ARG1\0…ARGn\0` (COUNT in decimal). Numbers in arguments
 * are decimal or 0x-hex. Strings cannot hold NUL, which the runtime checks. Ops run in order;
 * ops before `clone` run in the helper's own process, ops after it in the container's first
 * process (the parent reports the child's pid and exits). The order is the runtime's decision,
 * which is why no op here decides what runs next.
 */
#include "helper.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct op {
  const char *name;
  int min_args, max_args;
  op_fn *run;
};

#define ANY (1 << 20)

static const struct op ops[] = {
    {"cgroup", 1, 1, op_cgroup},
    {"oom_score_adj", 1, 1, op_oom_score_adj},
    {"setns", 2, 2, op_setns},
    {"timens", 4, 4, op_timens},
    {"container", 2, 2, op_container},
    {"join", 1, 1, op_join},
    {"start_socket", 2, 2, op_start_socket},
    {"id_maps", 5, 5, op_id_maps},
    {"clone", 2, 2, op_clone},
    {"setsid", 0, 0, op_setsid},
    {"session_keyring", 1, 1, op_session_keyring},
    {"propagate", 2, 2, op_propagate},
    {"rootfs", 1, 1, op_rootfs},
    {"mount", 5, 6, op_mount},
    {"remount", 3, 3, op_remount},
    {"remount_readonly", 1, 1, op_remount_readonly},
    {"mkdirs", 1, 1, op_mkdirs},
    {"mknod", 6, 6, op_mknod},
    {"symlink", 2, 2, op_symlink},
    {"pivot_root", 0, 0, op_pivot_root},
    {"chroot", 1, 1, op_chroot},
    {"console", 3, 3, op_console},
    {"dev_console", 0, 0, op_dev_console},
    {"mask", 1, 1, op_mask},
    {"readonly_path", 1, 1, op_readonly_path},
    {"hostname", 1, 1, op_hostname},
    {"domainname", 1, 1, op_domainname},
    {"sysctl", 2, 2, op_sysctl},
    {"rlimit", 3, 3, op_rlimit},
    {"no_new_privs", 0, 0, op_no_new_privs},
    {"chdir", 1, 1, op_chdir},
    {"close_fds", 1, 1, op_close_fds},
    {"credentials", 8, 8, op_credentials},
    {"umask", 1, 1, op_umask},
    {"find_program", 2, 2, op_find_program},
    {"foreground", 0, 0, op_foreground},
    {"ready", 0, 0, op_ready},
    {"wait_start", 0, 0, op_wait_start},
    {"seccomp", 4, 4, op_seccomp},
    {"sync", 1, 1, op_sync},
    {"hook", 5, ANY, op_hook},
    {"exec", 2, ANY, op_exec},
};

static const struct op *find_op(const char *name) {
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(ops[i].name, name) == 0) return &ops[i];
  return NULL;
}

/* Next NUL-terminated field at *at, or NULL when the plan ends inside it. */
static char *next_field(char **at, char *end) {
  char *field = *at;
  char *nul = memchr(field, '\0', (size_t)(end - field));
  if (!nul) return NULL;
  *at = nul + 1;
  return field;
}

long long arg_int(struct helper *h, const char *arg) {
  char *end;
  errno = 0;
  long long value = strtoll(arg, &end, 0);
  if (errno || *arg == '\0' || *end != '\0') die(h, 0, "plan: bad number '%s'", arg);
  return value;
}

uint64_t arg_uint(struct helper *h, const char *arg) {
  char *end;
  errno = 0;
  unsigned long long value = strtoull(arg, &end, 0);
  if (errno || *arg == '\0' || *arg == '-' || *end != '\0') die(h, 0, "plan: bad number '%s'", arg);
  return value;
}

void run_plan(struct helper *h, char *plan, size_t length) {
  char *at = plan, *end = plan + length;
  while (at < end) {
    char *name = next_field(&at, end);
    char *count = name ? next_field(&at, end) : NULL;
    if (!count) die(h, 0, "plan: truncated op");
    const struct op *op = find_op(name);
    if (!op) die(h, 0, "plan: unknown op '%s'", name);
    long long n = arg_int(h, count);
    if (n < op->min_args || n > op->max_args)
      die(h, 0, "plan: op '%s' takes %d to %d arguments, got %lld", name, op->min_args, op->max_args, n);
    char **args = calloc((size_t)n + 1, sizeof *args);
    if (!args) die(h, ENOMEM, "plan: op '%s'", name);
    for (long long i = 0; i < n; i++)
      if (!(args[i] = next_field(&at, end))) die(h, 0, "plan: op '%s' is truncated", name);
    op->run(h, args, (int)n);
    free(args);
  }
}
