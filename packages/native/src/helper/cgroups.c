/*
 * Cgroups, from inside: the runtime creates the cgroups and writes their limits; the helper
 * only moves itself into the v1 ones before it clones (the v2 one it clones into, see
 * namespaces.c), so the container's first process is born inside them and neither the runtime
 * nor its memory is ever charged to the container.
 */
#include "helper.h"

#include <errno.h>
#include <stdio.h>

/*
 * cgroup DIR: joins the v1 cgroup DIR. Through its `tasks` file: the helper has one thread, so
 * that moves the whole process, and moving only the calling thread spares the kernel's global
 * threadgroup lock, whose RCU grace period makes a cgroup.procs write cost ~8 ms.
 */
void op_cgroup(struct helper *h, char **args, int nargs) {
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/tasks", args[0]) >= sizeof path) die(h, ENAMETOOLONG, "join cgroup %s", args[0]);
  if (write_file(path, "0") < 0) die(h, errno, "join cgroup %s", args[0]);
}
