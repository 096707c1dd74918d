/*
 * The plan's wire format and its interpreter.
 *
 * The runtime sends, on the sync socket, a 4-byte little-endian length and then that many bytes:
 * a sequence of ops, each `NAME\0COUNT\0ARG1\0…ARGn\0` (COUNT in decimal), the first one
 * `protocol N`. Numbers in arguments are decimal or 0x-hex. Strings cannot hold NUL, which the
 * runtime checks. Ops run in order;
 * ops before `clone` run in the helper's own process, ops after it in the container's first
 * process (the parent reports the child's pid and exits). The order is the runtime's decision,
 * which is why no op here decides what runs next.
 */
#include "helper.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Each op's arguments, one letter each: s a string, i a signed number, u an unsigned one (x the
 * same, a 64-bit mask on the runtime's side); after '|' those that may be left out; a final '*'
 * any number of strings. The same letters as OP_SIGNATURES in the runtime's plan/ops.ts, which
 * a test compares with this table. run_plan checks every argument against them, so an op may
 * take its numbers as given.
 */
struct op {
  const char *name;
  const char *signature;
  op_fn *run;
};

static op_fn op_protocol;

static const struct op ops[] = {
    {"protocol", "u", op_protocol},
    {"cgroup", "s", op_cgroup},
    {"oom_score_adj", "i", op_oom_score_adj},
    {"setns", "su", op_setns},
    {"timens", "iiii", op_timens},
    {"container", "is", op_container},
    {"join", "u", op_join},
    {"start_socket", "ss", op_start_socket},
    {"id_maps", "sssss", op_id_maps},
    {"clone", "us", op_clone},
    {"setsid", "", op_setsid},
    {"session_keyring", "s", op_session_keyring},
    {"propagate", "su", op_propagate},
    {"rootfs", "s", op_rootfs},
    {"mount", "sssus|u", op_mount},
    {"remount", "sus", op_remount},
    {"remount_readonly", "s", op_remount_readonly},
    {"mkdirs", "s", op_mkdirs},
    {"mknod", "suuuuu", op_mknod},
    {"symlink", "ss", op_symlink},
    {"pivot_root", "", op_pivot_root},
    {"chroot", "u", op_chroot},
    {"console", "uuu", op_console},
    {"dev_console", "", op_dev_console},
    {"mask", "s", op_mask},
    {"readonly_path", "s", op_readonly_path},
    {"hostname", "s", op_hostname},
    {"domainname", "s", op_domainname},
    {"sysctl", "ss", op_sysctl},
    {"rlimit", "uxx", op_rlimit},
    {"no_new_privs", "", op_no_new_privs},
    {"chdir", "s", op_chdir},
    {"close_fds", "u", op_close_fds},
    {"credentials", "uusxxxxx", op_credentials},
    {"umask", "u", op_umask},
    {"find_program", "ss", op_find_program},
    {"foreground", "", op_foreground},
    {"ready", "", op_ready},
    {"wait_start", "", op_wait_start},
    {"seccomp", "usis", op_seccomp},
    {"sync", "s", op_sync},
    {"hook", "sissi*", op_hook},
    {"exec", "i*", op_exec},
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

/* protocol N: the plan's first op; a runtime and a helper built apart must speak the same. */
static void op_protocol(struct helper *h, char **args, int nargs) {
  if (arg_uint(h, args[0]) != HELPER_PROTOCOL)
    die(h, 0, "plan: written in protocol %s, but this helper speaks %d: rebuild them together", args[0], HELPER_PROTOCOL);
}

/* Checks the arguments of `op` against its signature; dies naming the op when they do not fit. */
static void check_args(struct helper *h, const struct op *op, char **args, long long n) {
  if ((size_t)n < strcspn(op->signature, "|*")) die(h, 0, "plan: op '%s' takes '%s', got %lld arguments", op->name, op->signature, n);
  const char *letter = op->signature;
  for (long long i = 0; i < n; i++, letter++) {
    if (*letter == '|') letter++;
    if (*letter == '*') return; /* the rest are strings */
    if (!*letter) die(h, 0, "plan: op '%s' takes '%s', got %lld arguments", op->name, op->signature, n);
    if (*letter == 'i') arg_int(h, args[i]);
    else if (*letter == 'u' || *letter == 'x') arg_uint(h, args[i]);
  }
}

void run_plan(struct helper *h, char *plan, size_t length) {
  char *at = plan, *end = plan + length;
  for (int index = 0; at < end; index++) {
    char *name = next_field(&at, end);
    char *count = name ? next_field(&at, end) : NULL;
    if (!count) die(h, 0, "plan: truncated op");
    const struct op *op = find_op(name);
    if (!op) die(h, 0, "plan: unknown op '%s'", name);
    if ((index == 0) != (op->run == op_protocol)) die(h, 0, "plan: the protocol op must come first, and only there");
    long long n = arg_int(h, count);
    if (n < 0 || n > (long long)(end - at)) die(h, 0, "plan: op '%s' is truncated", name);
    char **args = calloc((size_t)n + 1, sizeof *args);
    if (!args) die(h, ENOMEM, "plan: op '%s'", name);
    for (long long i = 0; i < n; i++)
      if (!(args[i] = next_field(&at, end))) die(h, 0, "plan: op '%s' is truncated", name);
    check_args(h, op, args, n);
    op->run(h, args, (int)n);
    free(args);
  }
}
