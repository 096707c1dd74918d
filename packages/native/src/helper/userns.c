/*
 * User namespaces: the maps of the one `clone` creates, written from outside by this process
 * (the child cannot write its own maps with any privilege), before the child goes on.
 *
 * Root writes /proc/PID/{uid,gid}_map itself. An unprivileged caller can map only its own ids
 * that way (and must deny setgroups first); any other range needs the setuid newuidmap and
 * newgidmap (Debian's uidmap), which check /etc/subuid and /etc/subgid: the runtime says which.
 */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* id_maps UIDMAP GIDMAP SETGROUPS NEWUIDMAP NEWGIDMAP: the maps ("ID HOSTID SIZE" lines) of
   the user namespace `clone` creates next; SETGROUPS is what /proc/PID/setgroups gets ('' to
   leave it); NEWUIDMAP/NEWGIDMAP the programs that write the maps ('' to write them here). */
void op_id_maps(struct helper *h, char **args, int nargs) {
  h->maps.uid = args[0];
  h->maps.gid = args[1];
  h->maps.setgroups = args[2];
  h->maps.newuidmap = args[3];
  h->maps.newgidmap = args[4];
}

static void write_proc(struct helper *h, pid_t pid, const char *file, const char *content) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  if (write_file(path, content) < 0) die(h, errno, "write %s", file);
}

/* Runs PROGRAM PID ID HOSTID SIZE… (the map's numbers as arguments); its stderr tells why it failed. */
static void run_mapper(struct helper *h, const char *program, pid_t pid, const char *map) {
  char *copy = strdup(map), *save, *field;
  char pid_text[16];
  snprintf(pid_text, sizeof pid_text, "%d", pid);
  char *argv[3 * 340 + 3] = {(char *)program, pid_text};
  int argc = 2;
  for (field = strtok_r(copy, " \n", &save); field && argc < (int)(sizeof argv / sizeof *argv) - 1; field = strtok_r(NULL, " \n", &save)) argv[argc++] = field;
  int err[2];
  if (pipe2(err, O_CLOEXEC) < 0) die(h, errno, "run %s", program);
  pid_t child = fork();
  if (child < 0) die(h, errno, "run %s", program);
  if (child == 0) {
    dup2(err[1], 1);
    dup2(err[1], 2);
    char *envp[] = {NULL};
    execve(program, argv, envp);
    dprintf(2, "exec: %s", strerrorname_np(errno));
    _exit(127);
  }
  close(err[1]);
  char said[512];
  ssize_t n, length = 0;
  while ((n = read(err[0], said + length, sizeof said - 1 - (size_t)length)) > 0) length += n;
  close(err[0]);
  said[length] = '\0';
  for (char *c = said; *c; c++)
    if (*c == '\n') *c = length > 0 && c == said + length - 1 ? '\0' : ' ';
  int status;
  if (waitpid(child, &status, 0) < 0) die(h, errno, "run %s", program);
  free(copy);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die(h, 0, "%s %s: failed%s%s", program, map, *said ? ": " : "", said);
}

/* In the parent, once the child exists: its maps, then the byte that lets it go on. */
void write_id_maps(struct helper *h, pid_t pid, int go) {
  if (h->maps.newuidmap[0]) run_mapper(h, h->maps.newuidmap, pid, h->maps.uid);
  else write_proc(h, pid, "uid_map", h->maps.uid);
  if (h->maps.setgroups[0]) write_proc(h, pid, "setgroups", h->maps.setgroups);
  if (h->maps.newgidmap[0]) run_mapper(h, h->maps.newgidmap, pid, h->maps.gid);
  else write_proc(h, pid, "gid_map", h->maps.gid);
  if (write(go, "", 1) != 1) die(h, errno, "let the container process go on");
}

/* In the child: waits until its maps are written, then becomes root in its namespace (as runc
   does), unless the maps leave root out; the credentials op sets the program's ids later. */
void wait_id_maps(struct helper *h, int go) {
  char byte;
  ssize_t n;
  do n = read(go, &byte, 1);
  while (n < 0 && errno == EINTR);
  /* The parent failed and said why already. */
  if (n != 1) _exit(1);
  close(go);
  /* Back to non-dumpable (see main.c) now that the maps are written. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) die(h, errno, "prctl PR_SET_DUMPABLE");
  if (setresgid(0, 0, 0) < 0 && errno != EINVAL) die(h, errno, "become root in the user namespace: setresgid");
  if (setresuid(0, 0, 0) < 0 && errno != EINVAL) die(h, errno, "become root in the user namespace: setresuid");
  if (strcmp(h->maps.setgroups, "deny") != 0 && setgroups(0, NULL) < 0) die(h, errno, "drop the runtime's groups in the user namespace");
}
