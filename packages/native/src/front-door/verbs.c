/*
 * The calls served here, each the path runtime/src/container/ takes when nothing goes wrong, in
 * the same order of checks. Where Node would report an error, or run a hook, or do something this
 * program does not (kill --all, a host mount to detach, a create that did not finish, the bundle
 * of an `oci run IMAGE` container, removed with it), the call is handed to Node before anything
 * has changed. Past a change, what remains is idempotent (delete's steps): Node, handed the call
 * then, repeats it and reports what fails.
 */
#include "front-door.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SIGKILL_NUMBER 9

static void sleep_ms(long ms) { nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000}, NULL); }

/* A growing buffer for what is printed. */
struct text {
  char *data;
  size_t length, capacity;
};

static void append(struct text *t, const char *data, size_t length) {
  if (t->length + length + 1 > t->capacity) {
    t->capacity = (t->length + length + 1) * 2;
    t->data = realloc(t->data, t->capacity);
    if (!t->data) exit(1);
  }
  memcpy(t->data + t->length, data, length);
  t->length += length;
  t->data[t->length] = '\0';
}

static void append_quoted(struct text *t, const char *s, size_t length) {
  char *quoted = malloc(6 * length + 3);
  if (!quoted) exit(1);
  append(t, quoted, json_quote(quoted, s, length));
  free(quoted);
}

static void print(const struct text *t) {
  if (!write_all(1, t->data, t->length)) exit(1);
}

static struct container loaded(const struct call *call) {
  struct container c;
  if (load_container(call, &c) < 0) hand_to_node(call, "no such container");
  return c;
}

/* Whether state.json records hooks of that kind (start's and delete's are run by Node). */
static bool has_hooks(struct container *c, const char *kind) {
  struct json_object *hooks, *list;
  return json_object_object_get_ex(c->json, "hooks", &hooks) && (!json_object_is_type(hooks, json_type_object) || json_object_object_get_ex(hooks, kind, &list));
}

static const char *const status_names[] = {"created", "running", "paused", "stopped"};

/* JSON.stringify(state, null, '  ') of Runtime.state()'s result. */
int verb_state(const struct call *call) {
  struct container c = loaded(call);
  enum status status = status_of(call, &c);
  struct json_object *annotations, *field;
  if (!json_object_object_get_ex(c.json, "annotations", &annotations) || !json_object_is_type(annotations, json_type_object))
    hand_to_node(call, "a state file with another shape");
  struct text out = {0};
  static const char *const before[] = {"ociVersion", "id"}, *const after[] = {"bundle", "rootfs", "created"};
  append(&out, "{", 1);
  for (size_t i = 0; i < 2; i++) {
    if (!json_object_object_get_ex(c.json, before[i], &field) || !json_object_is_type(field, json_type_string)) hand_to_node(call, "a state file with another shape");
    append(&out, "\n  \"", 4), append(&out, before[i], strlen(before[i])), append(&out, "\": ", 3);
    append_quoted(&out, json_object_get_string(field), (size_t)json_object_get_string_len(field));
    append(&out, ",", 1);
  }
  char line[64];
  int n = snprintf(line, sizeof line, "\n  \"pid\": %d,\n  \"status\": \"%s\",", status == STATUS_STOPPED ? 0 : c.pid, status_names[status]);
  append(&out, line, (size_t)n);
  for (size_t i = 0; i < 3; i++) {
    if (!json_object_object_get_ex(c.json, after[i], &field) || !json_object_is_type(field, json_type_string)) hand_to_node(call, "a state file with another shape");
    append(&out, "\n  \"", 4), append(&out, after[i], strlen(after[i])), append(&out, "\": ", 3);
    append_quoted(&out, json_object_get_string(field), (size_t)json_object_get_string_len(field));
    append(&out, ",", 1);
  }
  append(&out, "\n  \"owner\": \"\"", 14);
  if (json_object_object_length(annotations) > 0) {
    append(&out, ",\n  \"annotations\": {", 20);
    bool first = true;
    json_object_object_foreach(annotations, key, value) {
      /* Keys that are array indices come first in a JavaScript object. */
      if ((*key && key[strspn(key, "0123456789")] == '\0') || !json_object_is_type(value, json_type_string))
        hand_to_node(call, "annotations Node orders otherwise");
      append(&out, first ? "\n    " : ",\n    ", first ? 5 : 6);
      append_quoted(&out, key, strlen(key));
      append(&out, ": ", 2);
      append_quoted(&out, json_object_get_string(value), (size_t)json_object_get_string_len(value));
      first = false;
    }
    append(&out, "\n  }", 4);
  }
  append(&out, "\n}\n", 3);
  print(&out);
  return 0;
}

static int pidfd_open(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
static int pidfd_send_signal(int fd, int signal) { return (int)syscall(SYS_pidfd_send_signal, fd, signal, NULL, 0); }

/* openIfAlive(): a pidfd on the container's first process, checked again once it pins the pid. */
static int open_if_alive(const struct call *call, const struct container *c) {
  if (!is_alive(call, c)) return -1;
  int fd = pidfd_open(c->pid);
  if (fd < 0 && errno != ESRCH) hand_to_node(call, "pidfd_open failed");
  if (fd >= 0 && !is_alive(call, c)) close(fd), fd = -1;
  return fd;
}

int verb_kill(const struct call *call) {
  int signal = 15; /* SIGTERM */
  if (call->signal) {
    /* Engines send numbers; names are Node's (os.constants.signals). */
    if (!*call->signal || call->signal[strspn(call->signal, "0123456789")] || strlen(call->signal) > 2) hand_to_node(call, "a signal by name");
    signal = atoi(call->signal);
    if (signal < 1 || signal > 64) hand_to_node(call, "an unknown signal");
  }
  struct container c = loaded(call);
  int fd = open_if_alive(call, &c);
  if (fd < 0) hand_to_node(call, "container not running");
  /* SIGKILL thaws a paused container: Node's to do. */
  if (signal == SIGKILL_NUMBER && is_frozen(call, &c)) hand_to_node(call, "a frozen container to kill");
  if (pidfd_send_signal(fd, signal) != 0) hand_to_node(call, "the signal was not delivered");
  return 0;
}

/* Connects to the start socket: through its directory's fd when the path is too long for an address. */
int connect_start_socket(const char *dir) {
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  int dir_fd = -1;
  if (strlen(dir) + sizeof "/start.sock" <= sizeof address.sun_path) {
    snprintf(address.sun_path, sizeof address.sun_path, "%s/start.sock", dir);
  } else {
    dir_fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (dir_fd < 0) return -1;
    snprintf(address.sun_path, sizeof address.sun_path, "/proc/self/fd/%d/start.sock", dir_fd);
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&address, sizeof address) != 0) close(fd), fd = -1;
  if (dir_fd >= 0) close(dir_fd);
  return fd;
}

int verb_start(const struct call *call) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", call->root, call->id);
  if (lock_container(call, dir) < 0) hand_to_node(call, "no such container");
  struct container c = loaded(call);
  if (status_of(call, &c) != STATUS_CREATED) hand_to_node(call, "a container that is not created");
  if (has_hooks(&c, "poststart")) hand_to_node(call, "poststart hooks");
  int fd = connect_start_socket(dir);
  if (fd < 0) hand_to_node(call, "the start socket does not answer");
  /* The container's process execs the program, or answers "error …" and exits. */
  struct text answer = {0};
  append(&answer, "", 0);
  for (;;) {
    char chunk[4096];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    append(&answer, chunk, (size_t)n);
  }
  close(fd);
  char socket_path[4096 + 16];
  snprintf(socket_path, sizeof socket_path, "%s/start.sock", dir);
  if (unlink(socket_path) != 0 && errno != ENOENT) {
    char message[4200];
    snprintf(message, sizeof message, "unlink '%s': %s", socket_path, strerror(errno));
    fail(call, message);
  }
  if (answer.length > 0 && answer.data[answer.length - 1] == '\0') answer.data[--answer.length] = '\0';
  const char *failure = strncmp(answer.data, "error ", 6) ? answer.data : answer.data + 6;
  if (*failure) fail(call, failure);
  return 0;
}

/* Writes a cgroup control file, as freezer.ts writeControl does (no create). */
static bool write_control(const char *dir, const char *file, const char *value) {
  char path[4096 + 32];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write_all(fd, value, strlen(value));
  return close(fd) == 0 && ok;
}

static bool thaw(const struct container *c) {
  return c->freezer_version == 1 ? write_control(c->freezer_dir, "freezer.state", "THAWED") : write_control(c->freezer_dir, "cgroup.freeze", "0");
}

/* #stop(): the first process killed and waited for, then whatever else is in the cgroup. */
void stop(const struct call *call, const struct container *c) {
  int fd = open_if_alive(call, c);
  if (fd >= 0 && pidfd_send_signal(fd, SIGKILL_NUMBER) != 0 && errno != ESRCH) hand_to_node(call, "SIGKILL was not delivered");
  if (is_frozen(call, c) && !thaw(c)) hand_to_node(call, "the container cannot be thawed");
  if (fd >= 0) {
    struct pollfd exited = {.fd = fd, .events = POLLIN};
    while (poll(&exited, 1, -1) < 0 && errno == EINTR) {
    }
    close(fd);
  }
  size_t count;
  int *pids;
  for (int round = 0; (pids = cgroup_pids(call, c, &count)) && count > 0; round++) {
    for (size_t i = 0; i < count; i++)
      if (kill(pids[i], SIGKILL_NUMBER) != 0 && errno != ESRCH) hand_to_node(call, "a process in the cgroup cannot be killed");
    free(pids);
    if (round > 1000) hand_to_node(call, "processes survive SIGKILL");
    sleep_ms(2);
  }
  free(pids);
}

/* removeCgroup(): the container's directories (retried while their last process exits), then
   the parents made for it that nothing else uses. */
void remove_cgroup(const struct call *call, const struct container *c) {
  size_t dirs = json_object_array_length(c->cgroup_dirs);
  for (size_t i = 0; i < dirs; i++) {
    const char *dir = json_object_get_string(json_object_array_get_idx(c->cgroup_dirs, i));
    for (int attempt = 0; rmdir(dir) != 0 && errno != ENOENT; attempt++) {
      if (errno != EBUSY || attempt >= 200) hand_to_node(call, "a cgroup cannot be removed");
      sleep_ms(5);
    }
  }
  for (size_t i = json_object_array_length(c->cgroup_created); i-- > 0;) {
    const char *dir = json_object_get_string(json_object_array_get_idx(c->cgroup_created, i));
    bool leaf = false;
    for (size_t j = 0; j < dirs && !leaf; j++) leaf = !strcmp(dir, json_object_get_string(json_object_array_get_idx(c->cgroup_dirs, j)));
    if (!leaf && rmdir(dir) != 0 && errno != ENOENT && errno != EBUSY && errno != ENOTEMPTY) hand_to_node(call, "a cgroup cannot be removed");
  }
}

/* StateStore.remove(): the container's directory holds files only. */
void remove_state(const struct call *call, const char *dir) {
  DIR *listing = opendir(dir);
  if (!listing) {
    if (errno == ENOENT) return;
    hand_to_node(call, "the state directory cannot be listed");
  }
  /* Looked over before anything goes: Node, handed a directory without its state.json, would
     take the container for gone. */
  for (struct dirent *entry; (entry = readdir(listing));)
    if (entry->d_type == DT_DIR ? strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..") : entry->d_type == DT_UNKNOWN)
      hand_to_node(call, "the state directory holds more than files");
  rewinddir(listing);
  int dir_fd = dirfd(listing);
  for (struct dirent *entry; (entry = readdir(listing));) {
    if (entry->d_type == DT_DIR) continue;
    if (unlinkat(dir_fd, entry->d_name, 0) != 0) hand_to_node(call, "a file of the state directory cannot be removed");
  }
  closedir(listing);
  if (rmdir(dir) != 0) hand_to_node(call, "the state directory cannot be removed");
}

/* Whether the bundle has run.json (runtime/src/image/run-record.ts): `oci run IMAGE` made it, and
   `oci delete` removes it with its writable layer. */
static bool made_by_run_image(const struct call *call, struct container *c) {
  struct json_object *bundle;
  if (!json_object_object_get_ex(c->json, "bundle", &bundle) || !json_object_is_type(bundle, json_type_string)) hand_to_node(call, "a state file with another shape");
  char path[4096 + 16];
  snprintf(path, sizeof path, "%s/run.json", json_object_get_string(bundle));
  return access(path, F_OK) == 0 || errno != ENOENT;
}

int verb_delete(const struct call *call) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", call->root, call->id);
  int lock = lock_container(call, dir);
  if (lock == -ENOENT && call->force) return 0;
  if (lock < 0) hand_to_node(call, "no such container");
  struct container c;
  if (load_container(call, &c) < 0) {
    if (!call->force) hand_to_node(call, "no such container");
    /* A create killed midway recorded what to undo: Node undoes it. */
    char creating[4096 + 16];
    snprintf(creating, sizeof creating, "%s/creating.json", dir);
    if (access(creating, F_OK) == 0 || errno != ENOENT) hand_to_node(call, "a create that did not finish");
    remove_state(call, dir);
    return 0;
  }
  enum status status = status_of(call, &c);
  if ((status == STATUS_RUNNING || status == STATUS_PAUSED) && !call->force) hand_to_node(call, "a container that is not stopped");
  if (has_hooks(&c, "poststop") || json_object_object_get_ex(c.json, "hostMount", NULL)) hand_to_node(call, "poststop hooks or a host mount");
  if (made_by_run_image(call, &c)) hand_to_node(call, "a bundle of `oci run IMAGE`, removed with its container");
  stop(call, &c);
  remove_cgroup(call, &c);
  remove_state(call, dir);
  return 0;
}

static int by_number(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int verb_ps(const struct call *call) {
  if (!call->json_format) hand_to_node(call, "ps as a table");
  struct container c = loaded(call);
  size_t count;
  int *pids = cgroup_pids(call, &c, &count);
  if (count > 0) qsort(pids, count, sizeof *pids, by_number);
  struct text out = {0};
  append(&out, "[", 1);
  for (size_t i = 0; i < count; i++) {
    char number[16];
    append(&out, number, (size_t)snprintf(number, sizeof number, i ? ",%d" : "%d", pids[i]));
  }
  append(&out, "]\n", 2);
  print(&out);
  return 0;
}

/* #withStatus(): the container locked, its state and status read. */
static struct container locked(const struct call *call, enum status *status) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", call->root, call->id);
  if (lock_container(call, dir) < 0) hand_to_node(call, "no such container");
  struct container c = loaded(call);
  *status = status_of(call, &c);
  return c;
}

/* freezer.ts freeze(): v1 asked again (with a thaw now and then) until FROZEN; v2 until cgroup.events says frozen. */
static bool freeze(const struct container *c) {
  char path[4096 + 32];
  if (c->freezer_version == 1) {
    snprintf(path, sizeof path, "%s/freezer.state", c->freezer_dir);
    for (int attempt = 0; attempt < 1000; attempt++) {
      if (attempt % 50 == 49) {
        if (!write_control(c->freezer_dir, "freezer.state", "THAWED")) return false;
        sleep_ms(10);
      }
      if (!write_control(c->freezer_dir, "freezer.state", "FROZEN")) return false;
      if (attempt % 25 == 24) sleep_ms(1);
      char *state = read_small_file(path, NULL);
      if (!state) return false;
      bool frozen = !strncmp(state, "FROZEN", 6), freezing = !strncmp(state, "FREEZING", 8);
      free(state);
      if (frozen) return true;
      if (!freezing) return false;
    }
    return false;
  }
  if (!write_control(c->freezer_dir, "cgroup.freeze", "1")) return false;
  snprintf(path, sizeof path, "%s/cgroup.events", c->freezer_dir);
  for (long delay = 1, waited = 0; waited < 10000; waited += delay, delay = delay * 2 > 20 ? 20 : delay * 2) {
    char *events = read_small_file(path, NULL);
    if (!events) return false;
    bool frozen = !strncmp(events, "frozen 1\n", 9) || strstr(events, "\nfrozen 1\n");
    free(events);
    if (frozen) return true;
    sleep_ms(delay);
  }
  return false;
}

int verb_pause(const struct call *call) {
  enum status status;
  struct container c = locked(call, &status);
  if ((status != STATUS_RUNNING && status != STATUS_CREATED) || !c.freezer_version) hand_to_node(call, "a container that cannot be paused");
  if (!freeze(&c)) {
    /* Half frozen is the worst state to leave a container in; Node tries again and reports. */
    thaw(&c);
    hand_to_node(call, "the freeze did not complete");
  }
  return 0;
}

int verb_resume(const struct call *call) {
  enum status status;
  struct container c = locked(call, &status);
  if (status != STATUS_PAUSED) hand_to_node(call, "a container that is not paused");
  if (!thaw(&c)) hand_to_node(call, "the container cannot be thawed");
  return 0;
}
