/*
 * A directory tree copied from one open directory to another (tmpcopyup: a tmpfs mounted over
 * an image directory starts with that directory's contents). Both sides are fds, and nothing is
 * followed: a symlink is copied as a symlink, so an image cannot lead the copy out of its root.
 */
#include "helper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void copy_file(struct helper *h, int from, int to, const char *name, const struct stat *st, const char *what) {
  int in = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) die(h, errno, "%s: open %s", what, name);
  int out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
  if (out < 0) die(h, errno, "%s: create %s", what, name);
  for (off_t done = 0; done < st->st_size;) {
    ssize_t n = sendfile(out, in, &done, (size_t)(st->st_size - done));
    if (n < 0) die(h, errno, "%s: copy %s", what, name);
    if (n == 0) break; /* the file shrank meanwhile */
  }
  close(in);
  close(out);
}

/* The entry's owner, then its mode (a chown clears set-id bits), then its times. */
static void copy_attributes(struct helper *h, int to, const char *name, const struct stat *st, const char *what) {
  if (fchownat(to, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) die(h, errno, "%s: chown %s", what, name);
  if (!S_ISLNK(st->st_mode) && fchmodat(to, name, st->st_mode & 07777, 0) < 0) die(h, errno, "%s: chmod %s", what, name);
  const struct timespec times[2] = {st->st_atim, st->st_mtim};
  if (utimensat(to, name, times, AT_SYMLINK_NOFOLLOW) < 0) die(h, errno, "%s: set the times of %s", what, name);
}

void copy_tree(struct helper *h, int from, int to, const char *what) {
  int listed = dup(from);
  DIR *dir = listed < 0 ? NULL : fdopendir(listed);
  if (!dir) die(h, errno, "%s: list", what);
  struct dirent *entry;
  while ((errno = 0, entry = readdir(dir))) {
    const char *name = entry->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    struct stat st;
    if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0) die(h, errno, "%s: stat %s", what, name);
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(to, name, 0700) < 0) die(h, errno, "%s: mkdir %s", what, name);
      int sub_from = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int sub_to = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub_from < 0 || sub_to < 0) die(h, errno, "%s: open %s", what, name);
      copy_tree(h, sub_from, sub_to, what);
      close(sub_from);
      close(sub_to);
    } else if (S_ISREG(st.st_mode)) {
      copy_file(h, from, to, name, &st, what);
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t n = readlinkat(from, name, target, sizeof target - 1);
      if (n < 0) die(h, errno, "%s: readlink %s", what, name);
      target[n] = '\0';
      if (symlinkat(target, to, name) < 0) die(h, errno, "%s: symlink %s", what, name);
    } else if (mknodat(to, name, st.st_mode, st.st_rdev) < 0) {
      die(h, errno, "%s: mknod %s", what, name);
    }
    copy_attributes(h, to, name, &st, what);
  }
  if (errno) die(h, errno, "%s: list", what);
  closedir(dir);
}
