/*
 * Container paths. A mount destination, a device node or a symlink named by config.json lives
 * inside the container's root, and the rootfs is not trusted: every lookup goes through
 * openat2(RESOLVE_IN_ROOT), so a symlink in the image resolves as if the root were "/" and can
 * never lead out of it. Mounts then target the opened fd (mounts.c), so the kernel does not walk
 * the path a second time.
 */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int openat2_in(int dirfd, const char *path, uint64_t resolve) {
  struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = resolve};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int find_in_root(struct helper *h, const char *path) {
  if (h->root_fd < 0) die(h, 0, "plan: '%s' used before the rootfs op", path);
  return openat2_in(h->root_fd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int find_exact_in_root(struct helper *h, const char *path) {
  if (h->root_fd < 0) die(h, 0, "plan: '%s' used before the rootfs op", path);
  return openat2_in(h->root_fd, path, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
}

int open_in_root(struct helper *h, const char *path, enum create create, const char *what) {
  int fd = find_in_root(h, path);
  if (fd >= 0) return fd;
  if (errno != ENOENT || create == CREATE_NOTHING) die(h, errno, "%s", what);

  const char *name;
  int parent = open_parent_in_root(h, path, &name, what);
  int made = create == CREATE_DIRECTORY ? mkdirat(parent, name, 0755) : mknodat(parent, name, S_IFREG | 0644, 0);
  if (made < 0 && errno != EEXIST) die(h, errno, "%s", what);
  close(parent);
  fd = find_in_root(h, path);
  if (fd < 0) die(h, errno, "%s", what);
  return fd;
}

int open_parent_in_root(struct helper *h, const char *path, const char **name, const char *what) {
  const char *slash = strrchr(path, '/');
  if (path[0] != '/' || !slash) die(h, 0, "%s: plan: '%s' is not an absolute path", what, path);
  *name = slash + 1;
  if (**name == '\0' || strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0)
    die(h, 0, "%s: plan: '%s' does not name a file", what, path);
  char parent[PATH_MAX];
  size_t length = slash == path ? 1 : (size_t)(slash - path);
  if (length >= sizeof parent) die(h, ENAMETOOLONG, "%s", what);
  memcpy(parent, path, length);
  parent[length] = '\0';
  return open_in_root(h, parent, CREATE_DIRECTORY, what);
}
