/*
 * Between `create` and `start`. The container's process listens on a unix socket in the state
 * directory (bound before pivot_root; it keeps only the listening fd), says "ready" to the
 * runtime, and blocks in accept(). `oci start` connects: the process execs the program, which
 * closes the connection (close-on-exec), or writes why the exec failed. Unlike runc's exec fifo
 * this tells `start` at once when the process is gone (ECONNREFUSED), and carries exec errors.
 */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* start_socket DIR NAME: listens on DIR/NAME; bound through the directory's fd, so the length
   of DIR does not matter (sun_path holds 108 bytes). */
void op_start_socket(struct helper *h, char **args, int nargs) {
  const char *dir = args[0], *name = args[1];
  int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) die(h, errno, "create start socket in %s", dir);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if ((size_t)snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, name) >= sizeof addr.sun_path)
    die(h, ENAMETOOLONG, "create start socket %s", name);
  h->start_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (h->start_fd < 0) die(h, errno, "create start socket");
  mode_t old = umask(0077);
  int bound = bind(h->start_fd, (struct sockaddr *)&addr, sizeof addr);
  umask(old);
  if (bound < 0) die(h, errno, "bind start socket %s/%s", dir, name);
  if (listen(h->start_fd, 1) < 0) die(h, errno, "listen on start socket");
  close(dirfd);
}

/* ready: the container is created. Once the runtime answers, having recorded us in its state,
   it may exit, and we must outlive it; until then we die with it. */
void op_ready(struct helper *h, char **args, int nargs) {
  send_message(h->sync_fd, "ready");
  wait_go_ahead(h, "ready");
  outlive_runtime(h);
  close(h->sync_fd);
  h->sync_fd = h->report_fd = -1;
}

/* wait_start: blocks until `oci start` connects; later failures are reported to it. */
void op_wait_start(struct helper *h, char **args, int nargs) {
  if (h->start_fd < 0) die(h, 0, "plan: wait_start without start_socket");
  int connection;
  do connection = accept4(h->start_fd, NULL, NULL, SOCK_CLOEXEC);
  while (connection < 0 && errno == EINTR);
  if (connection < 0) die(h, errno, "wait for start");
  close(h->start_fd);
  h->start_fd = -1;
  h->report_fd = connection;
}
