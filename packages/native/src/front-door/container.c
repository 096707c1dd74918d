/*
 * A container as the TypeScript runtime records it (runtime/src/state/store.ts: state.json in
 * ROOT/ID, the start socket beside it, a flock on the directory) and its status as
 * runtime/src/state/status.ts derives it from the system. A state.json this program cannot read
 * exactly (a field missing or of another type, a string JSON.stringify escaped as a lone
 * surrogate) goes to Node: the front door never guesses. test/front-door.test.ts feeds this
 * reader the files the runtime writes, in every status.
 */
#include "front-door.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static struct json_object *field(const struct call *call, struct json_object *object, const char *key, enum json_type type) {
  struct json_object *value;
  if (!json_object_object_get_ex(object, key, &value) || !json_object_is_type(value, type)) hand_to_node(call, "a state file with another shape");
  return value;
}

static const char *string_field(const struct call *call, struct json_object *object, const char *key) {
  return json_object_get_string(field(call, object, key, json_type_string));
}

static void check_strings(const struct call *call, struct json_object *array) {
  for (size_t i = 0; i < json_object_array_length(array); i++)
    if (!json_object_is_type(json_object_array_get_idx(array, i), json_type_string)) hand_to_node(call, "a state file with another shape");
}

int load_container(const struct call *call, struct container *c) {
  snprintf(c->dir, sizeof c->dir, "%s/%s", call->root, call->id);
  char path[4096 + 16];
  snprintf(path, sizeof path, "%s/state.json", c->dir);
  size_t length;
  char *text = read_small_file(path, &length);
  if (!text) return errno == ENOENT || errno == ENOTDIR ? -ENOENT : (hand_to_node(call, "a state file that cannot be read"), 0);
  /* JSON.stringify escapes only lone surrogates as \ud800-\udfff (as UTF-8 they would change), and
     a NUL would end a C string early. */
  for (const char *s = text; (s = strstr(s, "\\u")); s += 2)
    if (!strncmp(s, "\\u0000", 6) || (!strncmp(s, "\\ud", 3) && s[3] && strchr("89abcdef", s[3]))) hand_to_node(call, "a string this reader would change");
  struct json_object *json = json_tokener_parse(text);
  free(text);
  if (!json_object_is_type(json, json_type_object)) hand_to_node(call, "a state file that is not a JSON object");
  c->json = json;
  c->id = string_field(call, json, "id");
  struct json_object *pid = field(call, json, "pid", json_type_int);
  c->pid = json_object_get_int(pid);
  if ((int64_t)c->pid != json_object_get_int64(pid)) hand_to_node(call, "a pid out of range");
  c->start_time = string_field(call, json, "startTime");
  struct json_object *cgroup = field(call, json, "cgroup", json_type_object), *freezer;
  c->cgroup_dirs = field(call, cgroup, "dirs", json_type_array);
  c->cgroup_created = field(call, cgroup, "created", json_type_array);
  check_strings(call, c->cgroup_dirs);
  check_strings(call, c->cgroup_created);
  c->freezer_version = 0;
  if (json_object_object_get_ex(cgroup, "freezer", &freezer)) {
    if (!json_object_is_type(freezer, json_type_object)) hand_to_node(call, "a state file with another shape");
    c->freezer_version = json_object_get_int(field(call, freezer, "version", json_type_int));
    c->freezer_dir = string_field(call, freezer, "dir");
    if (c->freezer_version != 1 && c->freezer_version != 2) hand_to_node(call, "a freezer of another version");
  }
  return 0;
}

bool process_stat(int pid, char *state, char start_time[32]) {
  char path[32];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  char *stat = read_small_file(path, NULL);
  /* The command name is in parentheses and may hold spaces and parentheses itself. */
  char *field = stat ? strrchr(stat, ')') : NULL;
  if (field && field[1] == ' ' && field[2] && state) *state = field[2];
  for (int i = 0; field && i < 20; i++) field = strchr(field + 1, ' ');
  size_t n = field ? strcspn(field + 1, " \n") : 0;
  bool ok = field && n > 0 && n < 32;
  if (ok) snprintf(start_time, 32, "%.*s", (int)n, field + 1);
  free(stat);
  return ok;
}

/* isAlive(): the pid is still the container's first process (same start time), not a zombie. */
bool is_alive(const struct call *call, const struct container *c) {
  char state = 'X', start_time[32]; /* unread: not alive */
  return c->pid > 0 && process_stat(c->pid, &state, start_time) && !strcmp(start_time, c->start_time) && state != 'Z' && state != 'X';
}

/* isFrozen(): the cgroup was asked to freeze, by pause (freezer.self_freezing or cgroup.freeze). */
bool is_frozen(const struct call *call, const struct container *c) {
  if (!c->freezer_version) return false;
  char path[4096 + 32];
  snprintf(path, sizeof path, "%s/%s", c->freezer_dir, c->freezer_version == 1 ? "freezer.self_freezing" : "cgroup.freeze");
  char *text = read_small_file(path, NULL);
  if (!text) {
    /* Gone with its container: ENODEV when it went between the open and the read (freezer.ts's goneCgroup). */
    if (errno == ENOENT || errno == ENODEV) return false;
    hand_to_node(call, "a freezer that cannot be read");
  }
  size_t start = strspn(text, " \t\n\r\f\v"), end = strlen(text);
  while (end > start && strchr(" \t\n\r\f\v", text[end - 1])) end--;
  bool frozen = end - start == 1 && text[start] == '1';
  free(text);
  return frozen;
}

enum status status_of(const struct call *call, const struct container *c) {
  if (!is_alive(call, c)) return STATUS_STOPPED;
  if (is_frozen(call, c)) return STATUS_PAUSED;
  char path[4096 + 16];
  snprintf(path, sizeof path, "%s/%s/start.sock", call->root, c->id);
  return access(path, F_OK) == 0 ? STATUS_CREATED : STATUS_RUNNING;
}

int lock_container(const struct call *call, const char *dir) {
  int fd = open(dir, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  /* StateStore.lock(): tried with growing pauses up to 50 ms, for 30 s. */
  for (long delay_ms = 1; flock(fd, LOCK_EX | LOCK_NB) != 0; delay_ms = delay_ms * 2 > 50 ? 50 : delay_ms * 2) {
    if (errno != EWOULDBLOCK) hand_to_node(call, "a lock that cannot be taken");
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 > 30000) {
      char message[1200];
      snprintf(message, sizeof message, "container %s is busy: another command holds its lock", call->id);
      fail(call, message);
    }
    nanosleep(&(struct timespec){.tv_nsec = delay_ms * 1000000}, NULL);
  }
  return fd;
}

int *cgroup_pids(const struct call *call, const struct container *c, size_t *count) {
  *count = 0;
  if (json_object_array_length(c->cgroup_dirs) == 0) return NULL; /* rootless, without a cgroup */
  char path[4096 + 16];
  snprintf(path, sizeof path, "%s/cgroup.procs", json_object_get_string(json_object_array_get_idx(c->cgroup_dirs, 0)));
  char *text = read_small_file(path, NULL);
  if (!text) {
    if (errno == ENOENT || errno == ENODEV) return NULL; /* gone, as is_frozen says */
    hand_to_node(call, "cgroup.procs cannot be read");
  }
  size_t lines = 1;
  for (const char *s = text; *s; s++) lines += *s == '\n';
  int *pids = malloc(lines * sizeof *pids);
  if (!pids) hand_to_node(call, "out of memory");
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) pids[(*count)++] = atoi(line);
  free(text);
  return pids;
}
