/*
 * Who the container's process is: capability sets and uid/gid/groups, applied in the only
 * order the kernel allows (bounding set while still privileged, ids with KEEPCAPS so the
 * permitted set survives the uid change, then the sets themselves, then ambient).
 */
#include "helper.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void parse_groups(struct helper *h, const char *list, gid_t **groups, size_t *count) {
  *count = 0;
  *groups = NULL;
  if (!*list) return;
  size_t n = 1;
  for (const char *c = list; *c; c++) n += *c == ',';
  *groups = calloc(n, sizeof **groups);
  if (!*groups) die(h, ENOMEM, "set groups");
  char *copy = strdup(list), *save, *field;
  if (!copy) die(h, ENOMEM, "set groups");
  for (field = strtok_r(copy, ",", &save); field; field = strtok_r(NULL, ",", &save)) (*groups)[(*count)++] = (gid_t)arg_uint(h, field);
  free(copy);
}

static void drop_bounding(struct helper *h, uint64_t keep) {
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) return; /* past the kernel's last capability */
      die(h, errno, "drop capability %d from the bounding set", cap);
    }
  }
}

static void set_capabilities(struct helper *h, uint64_t effective, uint64_t permitted, uint64_t inheritable) {
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {
      {.effective = (uint32_t)effective, .permitted = (uint32_t)permitted, .inheritable = (uint32_t)inheritable},
      {.effective = (uint32_t)(effective >> 32), .permitted = (uint32_t)(permitted >> 32), .inheritable = (uint32_t)(inheritable >> 32)},
  };
  if (syscall(SYS_capset, &header, data) < 0) die(h, errno, "set capabilities");
}

static void set_ambient(struct helper *h, uint64_t ambient) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) die(h, errno, "clear ambient capabilities");
  for (int cap = 0; cap < 64; cap++)
    if ((ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      die(h, errno, "raise ambient capability %d", cap);
}

/* credentials UID GID GROUPS BOUNDING EFFECTIVE PERMITTED INHERITABLE AMBIENT: GROUPS is a
   comma-separated list (maybe empty), or "-" to leave the groups as they are; the capability
   sets are 64-bit masks. */
void op_credentials(struct helper *h, char **args, int nargs) {
  uid_t uid = (uid_t)arg_uint(h, args[0]);
  gid_t gid = (gid_t)arg_uint(h, args[1]);
  gid_t *groups = NULL;
  size_t count = 0;
  if (strcmp(args[2], "-") != 0) parse_groups(h, args[2], &groups, &count);
  uint64_t bounding = arg_uint(h, args[3]), effective = arg_uint(h, args[4]), permitted = arg_uint(h, args[5]);
  uint64_t inheritable = arg_uint(h, args[6]), ambient = arg_uint(h, args[7]);

  drop_bounding(h, bounding);
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die(h, errno, "prctl PR_SET_KEEPCAPS");
  /* "-": setgroups is denied in this user namespace (an unprivileged one mapping one gid). */
  if (strcmp(args[2], "-") != 0 && setgroups(count, groups) < 0) die(h, errno, "set additional groups");
  if (setresgid(gid, gid, gid) < 0) die(h, errno, "set gid %u", gid);
  if (setresuid(uid, uid, uid) < 0) die(h, errno, "set uid %u", uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) die(h, errno, "prctl PR_SET_KEEPCAPS");
  set_capabilities(h, effective, permitted, inheritable);
  set_ambient(h, ambient);
  free(groups);
}
