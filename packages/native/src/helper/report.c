/*
 * Messages to the runtime over the sync socket: NUL-terminated text records. "pid N" from the
 * parent once the container's first process exists, "ready" from that process once it waits for
 * `start`, and "error <step>: <ERRNO>" from whichever of them failed, just before it exits.
 */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void send_text(int fd, const char *text, size_t length) {
  /* Best effort: if the runtime is gone there is nobody left to tell. */
  while (length > 0) {
    ssize_t n = write(fd, text, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text += n;
    length -= (size_t)n;
  }
}

void send_message(int fd, const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof buf - 2) n = sizeof buf - 2;
  send_text(fd, buf, (size_t)n + 1); /* with the terminating NUL */
}

noreturn void die(struct helper *h, int err, const char *fmt, ...) {
  char what[3072];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  const char *name = err ? strerrorname_np(err) : NULL;
  if (err && name) send_message(h->report_fd, "error %s: %s", what, name);
  else if (err) send_message(h->report_fd, "error %s: errno %d", what, err);
  else send_message(h->report_fd, "error %s", what);
  _exit(1);
}

int write_file(const char *path, const char *content) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t length = strlen(content);
  /* One write: the kernel's answer to it (EINVAL, EBUSY, ENOSPC…) is the answer we report. */
  ssize_t n = write(fd, content, length);
  int saved = errno;
  close(fd);
  if (n < 0) errno = saved;
  else if ((size_t)n != length) errno = EIO;
  return (size_t)n == length ? 0 : -1;
}

void send_fd(struct helper *h, int socket, int fd, const char *payload, const char *what) {
  char control[CMSG_SPACE(sizeof fd)] = {0};
  struct iovec iov = {.iov_base = (void *)payload, .iov_len = strlen(payload)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof fd);
  memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(socket, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) die(h, errno, "%s", what);
  if ((size_t)n != iov.iov_len) die(h, EIO, "%s", what);
}
