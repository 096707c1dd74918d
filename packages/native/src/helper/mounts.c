/*
 * The container's mount tree: propagation, the rootfs bind, each mount of config.json (flags
 * and data computed by the runtime), remounts, masked and read-only paths, pivot_root.
 *
 * Every mount lands on an fd that paths.c opened inside the root, never on a path: the kernel
 * would walk a path again, and after pivot_root through the container's own /proc and files,
 * which the image (or another container sharing a volume) can arrange to lead elsewhere.
 */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

static void close_fd(int fd) {
  if (fd >= 0) close(fd);
}

/* A bind remount's flags as mount_setattr(2) attributes: exactly these per-mount flags, and the
   atime ones kept unless some are given (what MS_REMOUNT|MS_BIND does). */
static struct mount_attr bind_attributes(unsigned long flags) {
  static const struct { unsigned long flag; uint64_t attr; } plain[] = {
      {MS_RDONLY, MOUNT_ATTR_RDONLY}, {MS_NOSUID, MOUNT_ATTR_NOSUID}, {MS_NODEV, MOUNT_ATTR_NODEV},
      {MS_NOEXEC, MOUNT_ATTR_NOEXEC}, {MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW}};
  struct mount_attr attr = {0};
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
    if (flags & plain[i].flag) attr.attr_set |= plain[i].attr;
    else attr.attr_clr |= plain[i].attr;
  }
  if (flags & (MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)) {
    attr.attr_clr |= MOUNT_ATTR__ATIME;
    attr.attr_set |= flags & MS_NOATIME ? MOUNT_ATTR_NOATIME : flags & MS_STRICTATIME ? MOUNT_ATTR_STRICTATIME : MOUNT_ATTR_RELATIME;
    if (flags & MS_NODIRATIME) attr.attr_set |= MOUNT_ATTR_NODIRATIME;
    else attr.attr_clr |= MOUNT_ATTR_NODIRATIME;
  }
  return attr;
}

/* Clones the mount tree at `path` under `dirfd` (the fd itself with an empty path) onto `target`. */
static int bind_tree_at(int dirfd, const char *path, bool recursive, int target) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) | (*path ? 0 : AT_EMPTY_PATH);
  int tree = open_tree(dirfd, path, flags);
  if (tree < 0) return -1;
  int moved = move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int err = errno;
  close(tree);
  errno = err;
  return moved;
}

int bind_fd_at(int source, bool recursive, int target) {
  return bind_tree_at(source, "", recursive, target);
}

/*
 * A directory is mounted on as our cwd ("." is never a symlink and needs no /proc). A file can
 * only be bound over and have its mount's flags changed: the mount API does both on fds.
 */
int mount_at(int target, const char *source, const char *fstype, unsigned long flags, const char *data) {
  struct stat st;
  if (fstat(target, &st) < 0) return -1;
  if (S_ISDIR(st.st_mode)) return fchdir(target) < 0 ? -1 : mount(source, ".", fstype, flags, data);
  if (flags & PROPAGATION_FLAGS) {
    struct mount_attr attr = {.propagation = flags & PROPAGATION_FLAGS};
    return mount_setattr(target, "", AT_EMPTY_PATH | (flags & MS_REC ? AT_RECURSIVE : 0), &attr, sizeof attr);
  }
  if ((flags & (MS_BIND | MS_REMOUNT)) == MS_BIND) return bind_tree_at(AT_FDCWD, source, flags & MS_REC, target);
  if ((flags & (MS_BIND | MS_REMOUNT)) == (MS_BIND | MS_REMOUNT)) {
    struct mount_attr attr = bind_attributes(flags);
    return mount_setattr(target, "", AT_EMPTY_PATH, &attr, sizeof attr);
  }
  errno = ENOTDIR;
  return -1;
}

/* propagate PATH FLAGS: mount(2) with only propagation flags (MS_SLAVE|MS_REC…). PATH is a host
   path before the rootfs op and a container path after it. */
void op_propagate(struct helper *h, char **args, int nargs) {
  const char *path = args[0];
  unsigned long flags = arg_uint(h, args[1]);
  int fd = h->root_fd < 0 ? -1 : open_in_root(h, path, CREATE_NOTHING, path);
  int done = fd < 0 ? mount(NULL, path, NULL, flags, NULL) : mount_at(fd, NULL, NULL, flags, NULL);
  if (done < 0) die(h, errno, "set propagation of %s", path);
  close_fd(fd);
}

/* rootfs PATH: binds the rootfs onto itself (pivot_root wants a mount point) and makes it the
   root that every later container path resolves in. */
void op_rootfs(struct helper *h, char **args, int nargs) {
  const char *path = args[0];
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
    /* Only a user-namespaced root is refused its own rootfs: say what it lacks. */
    if (errno == EACCES) die(h, errno, "bind rootfs %s (every directory above it must be searchable by the host uid the container's root maps to)", path);
    die(h, errno, "bind rootfs %s", path);
  }
  h->root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (h->root_fd < 0) die(h, errno, "open rootfs %s", path);
  h->rootfs = path;
}

/* Whether fd is the container's root directory itself (a mount destination of "/"). */
static bool is_root(struct helper *h, int fd) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && fstat(h->root_fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* After a mount on the root (a bundle whose rootfs is an overlay of layer snapshots), the root
   fd still names the directory under it: every later lookup must start from the new mount. The
   host path of the rootfs op leads to the mount on top, as it did to the bind under it. */
static void reopen_root(struct helper *h) {
  int top = open(h->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (top < 0) die(h, errno, "open rootfs %s after mounting on /", h->rootfs);
  close(h->root_fd);
  h->root_fd = top;
}

/* Opens what is now mounted at dest (the new mount's root) as a directory fd. */
static int open_mounted(struct helper *h, const char *dest, const char *what) {
  int top = find_in_root(h, dest);
  int dir = top < 0 ? -1 : openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) die(h, errno, "%s", what);
  close(top);
  return dir;
}

/*
 * mount SOURCE DEST FSTYPE FLAGS DATA [COPY_UP]: DEST is created inside the root if missing: a
 * directory, or an empty file when a bind mount's source is not a directory. A tmpfs over a
 * directory the image has takes that directory's mode (as runc does) and, with COPY_UP 1
 * (runc's tmpcopyup), starts with its contents.
 */
void op_mount(struct helper *h, char **args, int nargs) {
  const char *source = args[0], *dest = args[1], *fstype = args[2], *data = args[4];
  unsigned long flags = arg_uint(h, args[3]);
  bool copy_up = nargs > 5 && arg_uint(h, args[5]) != 0;
  char what[PATH_MAX * 2 + 16];
  snprintf(what, sizeof what, "mount %s on %s", *source ? source : fstype, dest);

  enum create kind = CREATE_DIRECTORY;
  if (flags & MS_BIND) {
    /* Resolved by the runtime: a relative one would be taken from wherever mount_at left us. */
    if (source[0] != '/') die(h, 0, "%s: plan: the source is not an absolute path", what);
    struct stat st;
    if (stat(source, &st) < 0) die(h, errno, "%s", what);
    if (!S_ISDIR(st.st_mode)) kind = CREATE_FILE;
  }
  int fd = find_in_root(h, dest);
  struct stat before;
  bool existed = fd >= 0 && fstat(fd, &before) == 0 && S_ISDIR(before.st_mode);
  bool on_root = fd >= 0 && !h->pivoted && is_root(h, fd);
  if (fd < 0) fd = open_in_root(h, dest, kind, what);
  bool fill = existed && strcmp(fstype, "tmpfs") == 0 && !(flags & MS_BIND);
  int under = fill && copy_up ? openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (fill && copy_up && under < 0) die(h, errno, "%s: open what it covers", what);
  /* Writable until its mode and contents are in place. */
  unsigned long first = fill ? flags & ~MS_RDONLY : flags;
  if (mount_at(fd, source, *fstype ? fstype : NULL, first, *data ? data : NULL) < 0) die(h, errno, "%s", what);
  close(fd);
  if (on_root) reopen_root(h);
  if (!fill) return;
  int top = open_mounted(h, dest, what);
  if (under >= 0) {
    copy_tree(h, under, top, what);
    close(under);
  }
  if (fchmod(top, before.st_mode & 07777) < 0) die(h, errno, "%s: chmod", what);
  if (first != flags && mount_at(top, NULL, NULL, flags | MS_REMOUNT, *data ? data : NULL) < 0)
    die(h, errno, "%s: remount read-only", what);
  close(top);
}

/* remount DEST FLAGS DATA: e.g. MS_BIND|MS_RDONLY on a bind mount, whose first mount ignores
   every flag but MS_BIND and MS_REC. */
void op_remount(struct helper *h, char **args, int nargs) {
  const char *dest = args[0], *data = args[2];
  unsigned long flags = arg_uint(h, args[1]);
  int fd = open_in_root(h, dest, CREATE_NOTHING, dest);
  int done = mount_at(fd, NULL, NULL, flags | MS_REMOUNT, *data ? data : NULL);
  /* In a user namespace, mounts copied from the host have their nosuid, nodev, noexec and atime
     flags locked: a bind remount must keep the ones they have (runc does the same). Without
     atime flags a remount keeps the mount's own; the other three have the same bits in statvfs. */
  struct statvfs st;
  if (done < 0 && errno == EPERM && (flags & MS_BIND) && fstatvfs(fd, &st) == 0) {
    flags &= ~(unsigned long)(MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME);
    flags |= st.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC);
    done = mount_at(fd, NULL, NULL, flags | MS_REMOUNT, *data ? data : NULL);
    if (done < 0) errno = EPERM;
  }
  if (done < 0) die(h, errno, "remount %s", dest);
  close(fd);
}

/* Read-only, the mount's other flags as they are. */
static void remount_readonly(struct helper *h, const char *path) {
  int fd = open_in_root(h, path, CREATE_NOTHING, path);
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) die(h, errno, "remount %s read-only", path);
  close(fd);
}

/* remount_readonly DEST: read-only, keeping the mount's other flags (the rootfs, /dev). */
void op_remount_readonly(struct helper *h, char **args, int nargs) {
  remount_readonly(h, args[0]);
}

/* mkdirs PATH: like mkdir -p inside the root (the process's cwd must exist). */
void op_mkdirs(struct helper *h, char **args, int nargs) {
  close(open_in_root(h, args[0], CREATE_DIRECTORY, args[0]));
}

/* pivot_root: the root becomes "/", and the old root is detached without the unmount
   propagating back to the host (runc's pivot_root(".", ".") idiom needs no put_old dir). */
void op_pivot_root(struct helper *h, char **args, int nargs) {
  int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (old_root < 0) die(h, errno, "pivot_root: open /");
  if (fchdir(h->root_fd) < 0) die(h, errno, "pivot_root: chdir to rootfs");
  if (syscall(SYS_pivot_root, ".", ".") < 0) die(h, errno, "pivot_root");
  if (fchdir(old_root) < 0) die(h, errno, "pivot_root: chdir to the old root");
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) die(h, errno, "pivot_root: make the old root a slave");
  if (umount2(".", MNT_DETACH) < 0) die(h, errno, "pivot_root: detach the old root");
  if (chdir("/") < 0) die(h, errno, "pivot_root: chdir /");
  close(old_root);
  close(h->root_fd);
  h->pivoted = true;
  h->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (h->root_fd < 0) die(h, errno, "pivot_root: open the new root");
}

/* chroot MOVE: for --no-pivot (a rootfs on ramfs cannot be pivoted away from), MOVE 1: move the
   rootfs mount onto "/" and chroot into it. In the host's mount namespace (a container without
   its own), MOVE 0: chroot only, leaving the host's "/" alone. */
void op_chroot(struct helper *h, char **args, int nargs) {
  bool move = arg_uint(h, args[0]) != 0;
  if (fchdir(h->root_fd) < 0) die(h, errno, "chroot: chdir to rootfs");
  if (move && mount(".", "/", NULL, MS_MOVE, NULL) < 0) die(h, errno, "chroot: move rootfs to /");
  if (chroot(".") < 0) die(h, errno, "chroot");
  if (chdir("/") < 0) die(h, errno, "chroot: chdir /");
  close(h->root_fd);
  h->pivoted = true;
  h->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (h->root_fd < 0) die(h, errno, "chroot: open the new root");
}

/*
 * The container's /dev/null, checked to be the null device before a mask binds it: an image
 * whose /dev/null is a symlink (with no tmpfs over /dev) would otherwise have a file of its
 * choosing, /proc/sys/kernel/core_pattern say, bound writable over a masked path
 * (CVE-2025-31133).
 */
static int null_device(struct helper *h, const char *path) {
  int fd = find_exact_in_root(h, "/dev/null");
  struct stat st;
  if (fd < 0 && errno == ELOOP) die(h, 0, "mask %s: /dev/null is a symlink, not the null device", path);
  if (fd < 0 || fstat(fd, &st) < 0) die(h, errno, "mask %s: open /dev/null", path);
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) die(h, 0, "mask %s: /dev/null is not the null device", path);
  return fd;
}

/* mask PATH: hides PATH (a read-only empty tmpfs over a directory, /dev/null over a file);
   a path the container does not have is already hidden. */
void op_mask(struct helper *h, char **args, int nargs) {
  const char *path = args[0];
  int fd = find_in_root(h, path);
  if (fd < 0 && errno == ENOENT) return;
  if (fd < 0) die(h, errno, "mask %s", path);
  struct stat st;
  if (fstat(fd, &st) < 0) die(h, errno, "mask %s", path);
  if (S_ISDIR(st.st_mode)) {
    if (mount_at(fd, "tmpfs", "tmpfs", MS_RDONLY, NULL) < 0) die(h, errno, "mask %s", path);
  } else {
    int null = null_device(h, path);
    if (bind_fd_at(null, false, fd) < 0) die(h, errno, "mask %s", path);
    close(null);
  }
  close(fd);
}

/* readonly_path PATH: a read-only bind of PATH onto itself; skipped when PATH is missing. */
void op_readonly_path(struct helper *h, char **args, int nargs) {
  const char *path = args[0];
  int fd = find_in_root(h, path);
  if (fd < 0 && errno == ENOENT) return;
  if (fd < 0) die(h, errno, "make %s read-only", path);
  if (bind_fd_at(fd, true, fd) < 0) die(h, errno, "make %s read-only: bind", path);
  close(fd);
  remount_readonly(h, path); /* looks PATH up again: the fd still names what is under the bind */
}
