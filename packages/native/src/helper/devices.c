/* /dev inside the container: device nodes and symlinks, created inside the root. */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* mknod DEST MODE MAJOR MINOR UID GID: MODE holds the file type (S_IFCHR…) and permissions.
   A node that already exists is left as it is, as runc does. */
void op_mknod(struct helper *h, char **args, int nargs) {
  const char *dest = args[0], *name;
  mode_t mode = (mode_t)arg_uint(h, args[1]);
  dev_t dev = makedev(arg_uint(h, args[2]), arg_uint(h, args[3]));
  uid_t uid = (uid_t)arg_uint(h, args[4]);
  gid_t gid = (gid_t)arg_uint(h, args[5]);
  int dir = open_parent_in_root(h, dest, &name, dest);
  if (mknodat(dir, name, mode, dev) < 0) {
    if (errno != EEXIST) die(h, errno, "mknod %s", dest);
  } else if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
    die(h, errno, "chown %s", dest);
  }
  close(dir);
}

/* symlink TARGET DEST: DEST -> TARGET; an existing DEST is left alone. */
void op_symlink(struct helper *h, char **args, int nargs) {
  const char *target = args[0], *dest = args[1], *name;
  int dir = open_parent_in_root(h, dest, &name, dest);
  if (symlinkat(target, dir, name) < 0 && errno != EEXIST) die(h, errno, "symlink %s -> %s", dest, target);
  close(dir);
}
