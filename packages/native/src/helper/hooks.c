/*
 * Hooks the container's own process runs (runtime-spec config.md, POSIX-platform hooks):
 * createContainer hooks before pivot_root and startContainer hooks once `start` came, both in
 * the container's namespaces. The runtime runs the others (prestart, createRuntime, poststart,
 * poststop) in its own namespaces; `sync` lets it run prestart and createRuntime hooks while
 * this process waits with its namespaces and mounts in place.
 */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void wait_go_ahead(struct helper *h, const char *after) {
  char go;
  ssize_t n;
  do n = read(h->sync_fd, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n < 0) die(h, errno, "wait for the runtime after %s", after);
  if (n == 0) die(h, 0, "wait for the runtime after %s: it went away", after);
}

/* sync NAME: tells the runtime "sync NAME" and waits for its one-byte go-ahead. */
void op_sync(struct helper *h, char **args, int nargs) {
  send_message(h->sync_fd, "sync %s", args[0]);
  wait_go_ahead(h, args[0]);
}

/* What the hook printed, kept for the error message: its first bytes are where it says why. */
struct output {
  char text[1024];
  size_t length;
};

static void keep_output(int fd, struct output *out) {
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    size_t room = sizeof out->text - 1 - out->length;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(out->text + out->length, buf, take);
    out->length += take;
  }
  out->text[out->length] = '\0';
}

/* One line: the hook's output with its line breaks and trailing blanks folded. */
static const char *one_line(struct output *out) {
  for (char *c = out->text; *c; c++)
    if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
  while (out->length > 0 && out->text[out->length - 1] == ' ') out->text[--out->length] = '\0';
  return out->text;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static noreturn void exec_hook(struct helper *h, int stdin_fd, int output_fd, const char *path, char **argv, char **envp) {
  dup2(stdin_fd, 0);
  dup2(output_fd, 1);
  dup2(output_fd, 2);
  /* Before pivot_root the process's cwd is wherever the runtime ran; runc runs createContainer
     hooks in the rootfs, and so do we. */
  if (!h->pivoted && h->root_fd >= 0 && fchdir(h->root_fd) < 0) {
    dprintf(2, "chdir to the rootfs: %s", strerrorname_np(errno));
    _exit(126);
  }
  /* The hook gets its stdio only: our sync and start sockets must not outlive us in it. */
  close_range(3, ~0U, 0);
  signal(SIGPIPE, SIG_DFL);
  execve(path, argv, envp);
  dprintf(2, "exec %s: %s", path, strerrorname_np(errno));
  _exit(127);
}

/*
 * hook LABEL TIMEOUT STATE PATH ARGC ARGV… ENV…: runs PATH with exactly ARGV and ENV and STATE
 * (pid marks expanded) on its stdin; TIMEOUT seconds at most (0: no limit), then it is killed.
 * A hook that fails or times out fails the container, as the runtime spec says; LABEL
 * ("createContainer hook #0 /usr/bin/x") names it in the error.
 */
void op_hook(struct helper *h, char **args, int nargs) {
  const char *label = args[0], *path = args[3];
  long long timeout = arg_int(h, args[1]);
  long long argc = arg_int(h, args[4]);
  if (argc < 0 || argc > nargs - 5) die(h, 0, "plan: hook has %lld arguments but %d fields", argc, nargs - 5);
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  char **envp = calloc((size_t)(nargs - 5 - argc) + 1, sizeof *envp);
  if (!argv || !envp) die(h, ENOMEM, "%s", label);
  memcpy(argv, &args[5], (size_t)argc * sizeof *argv);
  memcpy(envp, &args[5 + argc], (size_t)(nargs - 5 - argc) * sizeof *envp);
  char *state = state_with_pid(h, args[2]);

  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) die(h, errno, "%s: pipe", label);
  /* A hook that exits without reading its stdin must not kill us with SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  pid_t pid = fork();
  if (pid < 0) die(h, errno, "%s: fork", label);
  if (pid == 0) exec_hook(h, in[0], out[1], path, argv, envp);
  close(in[0]);
  close(out[1]);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) die(h, errno, "%s: pidfd_open", label);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  fcntl(out[0], F_SETFL, O_NONBLOCK);

  struct output output = {.length = 0};
  size_t length = strlen(state), written = 0;
  long long deadline = timeout > 0 ? now_ms() + timeout * 1000 : -1;
  for (;;) {
    struct pollfd fds[3] = {{.fd = pidfd, .events = POLLIN}, {.fd = out[0], .events = POLLIN}, {.fd = in[1], .events = POLLOUT}};
    int wait_ms = deadline < 0 ? -1 : (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0);
    int ready = poll(fds, in[1] >= 0 ? 3 : 2, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) die(h, errno, "%s: poll", label);
    if (ready == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      keep_output(out[0], &output);
      die(h, 0, "%s: timed out after %lld s and was killed%s%s", label, timeout, output.length ? ": " : "", one_line(&output));
    }
    if (fds[1].revents) keep_output(out[0], &output);
    if (in[1] >= 0 && fds[2].revents) {
      ssize_t n = write(in[1], state + written, length - written);
      if (n > 0) written += (size_t)n;
      /* All written, or the hook closed its stdin (EPIPE): either way it has what it takes. */
      if (written == length || (n < 0 && errno != EAGAIN)) {
        close(in[1]);
        in[1] = -1;
      }
    }
    if (fds[0].revents) break;
  }
  int status;
  if (waitpid(pid, &status, 0) < 0) die(h, errno, "%s: wait", label);
  /* What it printed before exiting (not waiting for the pipe's end: a daemon it left may hold it). */
  keep_output(out[0], &output);
  signal(SIGPIPE, SIG_DFL);
  if (in[1] >= 0) close(in[1]);
  close(out[0]);
  close(pidfd);
  free(state);
  free(argv);
  free(envp);
  const char *said = one_line(&output);
  if (WIFSIGNALED(status)) die(h, 0, "%s: killed by signal %d%s%s", label, WTERMSIG(status), *said ? ": " : "", said);
  if (WEXITSTATUS(status) != 0) die(h, 0, "%s: exit status %d%s%s", label, WEXITSTATUS(status), *said ? ": " : "", said);
}
