/*
 * A process's terminal (process.terminal): a pty opened inside the container, its slave becoming
 * the process's stdio and controlling terminal (and a new container's /dev/console), its master
 * sent with SCM_RIGHTS over a unix socket (the --console-socket engines listen on, or the
 * runtime's own socketpair for a foreground `oci run` or `exec`), as runc does, with the slave's
 * path as the message.
 */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/*
 * console FD ROWS COLS: opens a pty inside the container (its devpts: after pivot_root, or in
 * a running container's mount namespace), sends its master over the unix socket FD, and makes
 * the slave this process's stdio and controlling terminal. ROWS and COLS 0 leave the size to
 * whoever holds the master.
 */
void op_console(struct helper *h, char **args, int nargs) {
  int socket = (int)arg_uint(h, args[0]);
  struct winsize size = {.ws_row = (unsigned short)arg_uint(h, args[1]), .ws_col = (unsigned short)arg_uint(h, args[2])};
  if (!h->pivoted) die(h, 0, "plan: console outside the container's root");

  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die(h, errno, "open /dev/ptmx");
  int unlock = 0, number;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die(h, errno, "unlock the pty");
  if (ioctl(master, TIOCGPTN, &number) < 0) die(h, errno, "get the pty number");
  snprintf(h->terminal, sizeof h->terminal, "/dev/pts/%d", number);
  /* The peer of this master, whatever the path now holds. */
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) die(h, errno, "open %s", h->terminal);
  if ((size.ws_row || size.ws_col) && ioctl(slave, TIOCSWINSZ, &size) < 0) die(h, errno, "set the terminal size");

  send_fd(h, socket, master, h->terminal, "send the terminal over the console socket");
  close(master);
  close(socket);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) die(h, errno, "dup the terminal to fd %d", fd);
  if (slave > 2) close(slave);
  if (ioctl(0, TIOCSCTTY, 0) < 0) die(h, errno, "make the terminal controlling");
}

/*
 * dev_console: binds the terminal `console` opened (now our stdin) onto a new container's
 * /dev/console. The image's /dev/console may be a symlink: bound through, the terminal would
 * cover whatever it points to (CVE-2025-31133's sibling). So /dev must be a directory reached
 * without symlinks, and /dev/console, unless it is a plain file or a device, is replaced by one.
 */
void op_dev_console(struct helper *h, char **args, int nargs) {
  if (!h->terminal[0]) die(h, 0, "plan: dev_console before console");
  int dev = find_exact_in_root(h, "/dev");
  if (dev < 0) die(h, errno, "open /dev for /dev/console");
  struct stat st;
  bool exists = fstatat(dev, "console", &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (!exists && errno != ENOENT) die(h, errno, "stat /dev/console");
  if (exists && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
    if (unlinkat(dev, "console", 0) < 0) die(h, errno, "replace /dev/console");
    exists = false;
  }
  int made = exists ? -1 : openat(dev, "console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (!exists && made < 0) die(h, errno, "create /dev/console");
  if (made >= 0) close(made);
  int target = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (target < 0 || fstat(target, &st) < 0) die(h, errno, "open /dev/console");
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) die(h, 0, "/dev/console is neither a file nor a device");
  if (bind_fd_at(0, false, target) < 0) die(h, errno, "mount %s on /dev/console", h->terminal);
  close(target);
  close(dev);
}
