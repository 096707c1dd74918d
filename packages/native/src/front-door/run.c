/*
 * `oci run [--rm] [-i] IMAGE [ARG…]` of an image run before: from the recipe the CLI left (packages/
 * cli/src/run-recipe.ts says what it holds and when it may be followed; run-recipe.c reads it), what
 * runImage (packages/runtime/src/image/run-image.ts) and the runtime's run do, in their order: the bundle in
 * STORE/containers/ID (run.json, an overlay of the snapshots), the state directory, the helper,
 * creating.json, the cgroups, the plan, state.json at the helper's "ready", start, the program
 * waited for with our signals passed on, then delete's steps and the bundle removed.
 *
 * Until the program runs, a failure undoes what was made and hands the call to Node, which runs
 * it again and says what is wrong in its own words; once it runs, the call is this program's to
 * finish, and a failure is reported here.
 */
#define _GNU_SOURCE /* memfd_create, nftw, posix_spawn_file_actions_addclosefrom_np */
#include "front-door.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <linux/bpf.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* linux 6.3 */
#endif

/* The run as far as it got: what to undo if it goes no further. */
struct run {
  struct call *call;
  const struct run_recipe *recipe;
  struct command command;
  bool interactive; /* -i: the program reads our stdin, else /dev/null */
  char id[32];
  char bundle[2200], state_dir[2200]; /* store and root are at most 2048 bytes */
  struct made made;
  bool bundle_made, state_made;
  size_t cgroups_made;
  int lock, helper_fd, sync_fd;
  pid_t helper, pid;
};

static char *with_id(const struct run *r, const char *text) {
  const char *values[HOLES] = {r->id, "", "", "", "", ""};
  return fill_holes(text, strlen(text), values, NULL);
}

/* A text of the recipe with the id's and the program's holes filled. */
static char *recipe_text(const struct run *r, int part, size_t *length) {
  const char *values[HOLES] = {r->id, "", "", "", r->command.args[0], r->command.json};
  return fill_holes(r->recipe->texts[part], r->recipe->lengths[part], values, length);
}

/* run-record.ts's abandoned(): a run.json meant to go whose owner has ended. */
static bool abandoned(const char *dir) {
  char path[4600], now[32];
  snprintf(path, sizeof path, "%s/run.json", dir);
  char *text = read_small_file(path, NULL);
  struct json_object *record = text ? json_tokener_parse(text) : NULL, *remove, *owner, *pid;
  free(text);
  if (!json_object_object_get_ex(record, "remove", &remove) || !json_object_get_boolean(remove)) return false;
  if (!json_object_object_get_ex(record, "owner", &owner) || !json_object_object_get_ex(owner, "pid", &pid)) return true;
  return !process_stat(json_object_get_int(pid), NULL, now) || strcmp(now, header_string(owner, "startTime"));
}

/* Whether a foreground run killed before its end left a bundle (runImage sweeps those first: Node's to do). */
static bool abandoned_runs(const char *store) {
  char path[4200];
  snprintf(path, sizeof path, "%s/containers", store);
  DIR *dir = opendir(path);
  if (!dir) return errno != ENOENT;
  bool found = false;
  for (struct dirent *e; !found && (e = readdir(dir));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char bundle[4500];
    snprintf(bundle, sizeof bundle, "%s/%s", path, e->d_name);
    found = abandoned(bundle);
  }
  closedir(dir);
  return found;
}

/* id.ts's generatedId(): oci-, the time in ms in base 36, six random hex digits. */
static void new_id(char out[32]) {
  struct timespec now;
  unsigned char random[3] = {0};
  clock_gettime(CLOCK_REALTIME, &now);
  if (getrandom(random, sizeof random, 0) != sizeof random) exit(1);
  strcpy(out, "oci-");
  base36((unsigned long long)now.tv_sec * 1000 + (unsigned long long)now.tv_nsec / 1000000, out + 4);
  sprintf(out + strlen(out), "%02x%02x%02x", random[0], random[1], random[2]);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* A directory and everything in it, on its own filesystem only. */
static bool remove_tree(const char *dir) { return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0 || errno == ENOENT; }

/* removeContainerBundle(): the bundle and everything in it (the container's writes in upper), and its user record. */
static bool remove_bundle(struct run *r) {
  bool ok = remove_tree(r->bundle);
  if (*r->made.record && unlink(r->made.record) && errno != ENOENT) ok = false;
  return ok;
}

/* Everything made so far, undone as a failed create and runImage undo theirs; then Node runs the line. */
static noreturn void undo(struct run *r, const char *why) {
  if (r->pid > 0) kill(r->pid, SIGKILL), waitpid(r->pid, NULL, 0);
  if (r->helper > 0) kill(r->helper, SIGKILL), waitpid(r->helper, NULL, 0);
  for (size_t i = r->cgroups_made; i-- > 0;) {
    char *dir = with_id(r, recipe_string(r->recipe->made, i));
    for (int attempt = 0; rmdir(dir) && errno == EBUSY && attempt < 200; attempt++) nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
  }
  if (r->state_made) remove_tree(r->state_dir);
  if (r->bundle_made) remove_bundle(r);
  hand_to_node(r->call, why);
}

static bool write_text(const char *path, int flags, mode_t mode, const char *text, size_t length) {
  const char *parts[] = {text};
  return write_file(path, flags, mode, parts, &length, 1);
}

/* Written whole or not at all, as StateStore's #write: a temp file renamed. */
static bool write_state_file(const struct run *r, const char *name, const char *text, size_t length) {
  char file[4200], temp[4300];
  snprintf(file, sizeof file, "%s/%s", r->state_dir, name);
  snprintf(temp, sizeof temp, "%s.tmp", file);
  return write_text(temp, O_TRUNC, 0666, text, length) && rename(temp, file) == 0;
}

/* createContainerBundle: STORE/containers/ID with run.json, then the overlay bundle in it. */
static void make_container_bundle(struct run *r, const char *store) {
  char containers[2100], path[4200], owner[32], *quoted = malloc(6 * strlen(store) + 3);
  snprintf(containers, sizeof containers, "%s/containers", store);
  if (!quoted || (mkdir(containers, 0700) && errno != EEXIST)) undo(r, "the containers directory cannot be made");
  snprintf(r->bundle, sizeof r->bundle, "%s/%s", containers, r->id);
  if (mkdir(r->bundle, 0700)) undo(r, "the container's bundle cannot be made");
  r->bundle_made = true;
  json_quote(quoted, store, strlen(store));
  if (!process_stat(getpid(), NULL, owner)) undo(r, "this process's start time cannot be read");
  char *record = malloc(strlen(quoted) + 128);
  if (!record) exit(1);
  int n = sprintf(record, "{\"store\":%s,\"remove\":true,\"owner\":{\"pid\":%d,\"startTime\":\"%s\"}}", quoted, (int)getpid(), owner);
  snprintf(path, sizeof path, "%s/run.json", r->bundle);
  if (!write_text(path, O_TRUNC, 0666, record, (size_t)n)) undo(r, "run.json cannot be written");
  size_t length;
  struct config_text config = {.parts = {recipe_text(r, CONFIG, &length)}, .count = 1};
  config.lengths[0] = length;
  if (!add_user(store, r->bundle, r->recipe->overlay.chains, &r->made) ||
      !make_bundle(r->bundle, &r->recipe->overlay, &config, &r->made))
    undo(r, "the overlay bundle cannot be made here");
}

/* The sealed copy of the helper (helper.ts: CVE-2019-5736), spawned with the container's stdio and the sync socket on 3. */
static void spawn_helper(struct run *r) {
  int memfd = memfd_create("oci-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (memfd < 0 && errno == EINVAL) memfd = memfd_create("oci-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  struct stat st;
  if (memfd < 0 || fstat(r->helper_fd, &st)) undo(r, "the helper cannot be copied");
  for (off_t done = 0; done < st.st_size;)
    if (sendfile(memfd, r->helper_fd, &done, (size_t)(st.st_size - done)) <= 0) undo(r, "the helper cannot be copied");
  if (fcntl(memfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)) undo(r, "the helper cannot be sealed");
  int pair[2], input = r->interactive ? 0 : open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (input < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair)) undo(r, "the helper's socket cannot be made");
  r->sync_fd = pair[0];
  /* Each source moved above the target range first, so that no dup2 overwrites another's source. */
  int sources[4] = {fcntl(input, F_DUPFD_CLOEXEC, 4), fcntl(1, F_DUPFD_CLOEXEC, 4), fcntl(2, F_DUPFD_CLOEXEC, 4), fcntl(pair[1], F_DUPFD_CLOEXEC, 4)};
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  for (int i = 0; i < 4; i++) posix_spawn_file_actions_adddup2(&actions, sources[i], i);
  posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  char file[64], *argv[] = {"oci-helper", "plan", "3", NULL}, *envp[] = {NULL};
  snprintf(file, sizeof file, "/proc/%d/fd/%d", (int)getpid(), memfd);
  int error = posix_spawn(&r->helper, file, &actions, &attributes, argv, envp);
  for (int i = 0; i < 4; i++) close(sources[i]);
  if (input != 0) close(input);
  close(pair[1]), close(memfd);
  if (error) r->helper = 0, undo(r, "the helper cannot be spawned");
}

/* The state directory, made and locked as StateStore.reserve does (a new id: nobody else has it). */
static void reserve(struct run *r) {
  if (mkdir(r->call->root, 0700) && errno != EEXIST) undo(r, "the state root cannot be made");
  snprintf(r->state_dir, sizeof r->state_dir, "%s/%s", r->call->root, r->id);
  if (mkdir(r->state_dir, 0700)) undo(r, "the container's state directory cannot be made");
  r->state_made = true;
  r->lock = open(r->state_dir, O_RDONLY | O_CLOEXEC);
  if (r->lock < 0 || flock(r->lock, LOCK_EX | LOCK_NB)) undo(r, "the container's state directory cannot be locked");
}

static char *trimmed(char *text) {
  if (!text) return NULL;
  char *end = text + strlen(text);
  while (end > text && strchr(" \t\n", end[-1])) *--end = '\0';
  return text + strspn(text, " \t\n");
}

static int bpf(int command, union bpf_attr *attributes) { return (int)syscall(SYS_bpf, command, attributes, sizeof *attributes); }

/* The addon's attachDeviceFilter (bpf.cc): the program loaded and attached beside any others (ancestors' filters still apply). */
static bool attach_device_filter(const char *dir, const unsigned char *instructions, size_t length) {
  static const char license[] = "Apache-2.0";
  /* Zeroed whole: the kernel refuses attributes with bytes set past the command's own. */
  union bpf_attr load, attach;
  memset(&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = (uint64_t)(uintptr_t)instructions;
  load.insn_cnt = (uint32_t)(length / sizeof(struct bpf_insn));
  load.license = (uint64_t)(uintptr_t)license;
  int program = bpf(BPF_PROG_LOAD, &load), cgroup = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  memset(&attach, 0, sizeof attach);
  attach.target_fd = (uint32_t)cgroup;
  attach.attach_bpf_fd = (uint32_t)program;
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  bool attached = program >= 0 && cgroup >= 0 && bpf(BPF_PROG_ATTACH, &attach) == 0;
  if (program >= 0) close(program);
  if (cgroup >= 0) close(cgroup);
  return attached;
}

/* makeCgroup: the directories, each new v1 cpuset given its parent's cpus and mems, the limits in order, the device filter. */
static void make_cgroup(struct run *r) {
  const struct run_recipe *recipe = r->recipe;
  for (; r->cgroups_made < json_object_array_length(recipe->made); r->cgroups_made++)
    if (mkdir(with_id(r, recipe_string(recipe->made, r->cgroups_made)), 0777)) undo(r, "a cgroup cannot be made here");
  for (size_t i = 0; i < json_object_array_length(recipe->cpuset); i++) {
    char *dir = with_id(r, recipe_string(recipe->cpuset, i)), path[4200];
    for (int f = 0; f < 2; f++) {
      const char *file = f ? "cpuset.mems" : "cpuset.cpus";
      snprintf(path, sizeof path, "%s/%s", dir, file);
      char *own = read_small_file(path, NULL);
      if (own && *trimmed(own)) continue;
      snprintf(path, sizeof path, "%s/../%s", dir, file);
      char *parent = trimmed(read_small_file(path, NULL));
      snprintf(path, sizeof path, "%s/%s", dir, file);
      if (!parent || !write_text(path, O_TRUNC, 0666, parent, strlen(parent))) undo(r, "a cpuset cannot be given its parent's");
    }
  }
  /* One open for consecutive writes to one file (devices.allow takes a rule per write). */
  int fd = -1;
  for (size_t i = 0; i < json_object_array_length(recipe->writes); i++) {
    struct json_object *w = json_object_array_get_idx(recipe->writes, i), *previous = i ? json_object_array_get_idx(recipe->writes, i - 1) : NULL;
    char *dir = with_id(r, recipe_string(w, 0)), path[4200];
    if (!previous || strcmp(recipe_string(w, 0), recipe_string(previous, 0)) || strcmp(recipe_string(w, 1), recipe_string(previous, 1))) {
      if (fd >= 0) close(fd);
      snprintf(path, sizeof path, "%s/%s", dir, recipe_string(w, 1));
      fd = open(path, O_RDWR | O_CLOEXEC);
      if (fd < 0 && errno == ENOENT && *recipe_string(w, 3)) snprintf(path, sizeof path, "%s/%s", dir, recipe_string(w, 3)), fd = open(path, O_RDWR | O_CLOEXEC);
    }
    const char *value = recipe_string(w, 2);
    if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value)) undo(r, "a cgroup limit cannot be written here");
  }
  if (fd >= 0) close(fd);
  if (recipe->filter_dir && !attach_device_filter(with_id(r, recipe->filter_dir), recipe->filter, recipe->filter_length))
    undo(r, "the device filter cannot be attached here");
}

/* state.json once the container's process is ready: its pid, start time and creation time put in. */
static void write_state(struct run *r) {
  char pid[16], started[32], created[32];
  snprintf(pid, sizeof pid, "%d", (int)r->pid);
  if (!process_stat(r->pid, NULL, started)) undo(r, "the container process exited during create");
  iso_time(created);
  const char *values[HOLES] = {r->id, pid, started, created, "", ""};
  size_t length;
  char *state = fill_holes(r->recipe->texts[STATE], r->recipe->lengths[STATE], values, &length);
  char creating[4200];
  snprintf(creating, sizeof creating, "%s/creating.json", r->state_dir);
  if (!write_state_file(r, "state.json", state, length) || unlink(creating)) undo(r, "state.json cannot be written");
}

/* helper.ts's run(): the plan sent, the helper's messages answered until it and the process are done with the socket. */
static void run_plan(struct run *r) {
  size_t length;
  char *plan = recipe_text(r, PLAN, &length);
  /* Its last op, `exec ARGC ARGS… ENV…`, made here: COUNT is how many arguments the op has. */
  struct json_object *env = r->recipe->env;
  size_t envc = json_object_array_length(env), size = length + 64;
  for (size_t i = 0; i < r->command.argc; i++) size += strlen(r->command.args[i]) + 1;
  for (size_t i = 0; i < envc; i++) size += strlen(recipe_string(env, i)) + 1;
  plan = realloc(plan, size);
  if (!plan) exit(1);
  char *tail = plan + length;
  tail += sprintf(tail, "exec%c%zu%c%zu", 0, 1 + r->command.argc + envc, 0, r->command.argc) + 1;
  for (size_t i = 0; i < r->command.argc; i++) tail = stpcpy(tail, r->command.args[i]) + 1;
  for (size_t i = 0; i < envc; i++) tail = stpcpy(tail, recipe_string(env, i)) + 1;
  length = (size_t)(tail - plan);
  unsigned char header[4] = {length & 0xff, (length >> 8) & 0xff, (length >> 16) & 0xff, (length >> 24) & 0xff};
  if (!write_all(r->sync_fd, (const char *)header, 4) || !write_all(r->sync_fd, plan, length)) undo(r, "the plan cannot be sent");
  char buffer[8192];
  size_t held = 0;
  bool ready = false, answered = false, failed = false;
  for (;;) {
    ssize_t n = read(r->sync_fd, buffer + held, sizeof buffer - held);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    held += (size_t)n;
    char *message = buffer, *end;
    while ((end = memchr(message, '\0', held - (size_t)(message - buffer)))) {
      if (!strncmp(message, "pid ", 4)) r->pid = atoi(message + 4);
      else if (!strcmp(message, "ready")) ready = true;
      else failed = true; /* an error, or a sync this recipe has no hook for */
      message = end + 1;
      /* The helper reports the pid as it clones; the container's process may speak first. */
      if (ready && !answered && r->pid > 0 && !failed) answered = true, write_state(r), write_all(r->sync_fd, "\1", 1);
    }
    held -= (size_t)(message - buffer);
    memmove(buffer, message, held);
    if (held == sizeof buffer) failed = true;
  }
  int status;
  while (waitpid(r->helper, &status, 0) < 0 && errno == EINTR) {
  }
  r->helper = 0;
  close(r->sync_fd);
  if (failed || !answered) undo(r, "the container could not be created here");
}

/* start(): the container's process execs the program, or answers why it could not. */
static void start(struct run *r) {
  int fd = connect_start_socket(r->state_dir);
  if (fd < 0) undo(r, "the start socket does not answer");
  char answer[4096];
  size_t length = 0;
  for (ssize_t n; (n = read(fd, answer + length, sizeof answer - 1 - length)) != 0;)
    if (n > 0) length += (size_t)n;
    else if (errno != EINTR) break;
  close(fd);
  char socket_path[4200];
  snprintf(socket_path, sizeof socket_path, "%s/start.sock", r->state_dir);
  unlink(socket_path);
  if (length > 0) undo(r, "the program could not be started here");
  r->call->begun = true;
  close(r->lock);
}

static pid_t forward_to;

static void forward(int signal) { kill(forward_to, signal); }

/* inForeground(): our signals passed on to the program until it ends; its exit status as a shell's. */
static int wait_program(struct run *r) {
  static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU};
  forward_to = r->pid;
  struct sigaction action = {.sa_handler = forward};
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaction(forwarded[i], &action, NULL);
  start(r);
  int status;
  while (waitpid(r->pid, &status, 0) < 0)
    if (errno != EINTR) fail(r->call, "the program cannot be waited for");
  r->pid = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* delete --force's steps, then removeContainerBundle. */
static void remove_container(struct run *r) {
  struct call call = *r->call;
  call.id = r->id;
  struct container c;
  int lock = lock_container(&call, r->state_dir);
  if (lock < 0 && lock != -ENOENT) fail(&call, "the container's state directory cannot be opened");
  /* Gone already when `oci delete --force ID` took it meanwhile: as for Node's delete --force, nothing to do. */
  if (lock >= 0 && load_container(&call, &c) == 0) {
    stop(&call, &c);
    remove_cgroup(&call, &c);
    remove_state(&call, r->state_dir);
  }
  if (!remove_bundle(r)) fail(&call, "its bundle cannot be removed");
}

int verb_run(const struct call *given, int first) {
  struct call *call = malloc(sizeof *call);
  if (!call) exit(1);
  *call = *given;
  /* Options before IMAGE: --rm (what a run without --name does anyway) and -i; any other is Node's. */
  bool image_option = false, interactive = false;
  for (; first < call->argc && call->argv[first][0] == '-' && call->argv[first][1]; first++, image_option = true) {
    const char *option = call->argv[first];
    if (!strcmp(option, "-i") || !strcmp(option, "--interactive")) interactive = true;
    else if (strcmp(option, "--rm")) hand_to_node(call, "run options served by Node");
  }
  if (first == call->argc) hand_to_node(call, "a run without IMAGE");
  /* IMAGE, then its command line as it is. */
  char **line = call->argv + first;
  int count = call->argc - first;
  /* The reading rule (run.ts's readingOf): IMAGE alone and no image option, beside a config.json, is a container's id. */
  if (count == 1 && !image_option && access("config.json", F_OK) == 0) hand_to_node(call, "a bundle's run");
  if (getuid() != 0 || geteuid() != 0) hand_to_node(call, "an unprivileged run");
  call->id = line[0];
  const char *env = getenv("OCI_STORE");
  const char *store = call->store ? resolved(call->store) : env && *env ? resolved(env) : "/var/lib/oci";
  if (!store || !plain(store) || strlen(store) > 2048 || strlen(call->root) > 2048) hand_to_node(call, "a path that needs normalising or escaping");
  open_log(call);
  /* A helper that dies early closes its end of the socket: a write then fails with EPIPE, as in Node. */
  signal(SIGPIPE, SIG_IGN);

  struct run_recipe recipe;
  if (!load_run_recipe(store, call->root, line[0], &recipe)) hand_to_node(call, "no recipe for this image, or not this index's, code's and host's");
  struct run r = {.call = call, .recipe = &recipe, .interactive = interactive, .lock = -1, .sync_fd = -1};
  if (!command_line(&recipe, line, count, &r.command)) hand_to_node(call, "a command line Node reads otherwise");
  if ((r.helper_fd = open_helper(recipe.header)) < 0) hand_to_node(call, "another helper than the recipe's");
  if (abandoned_runs(store)) hand_to_node(call, "an abandoned run to sweep first");

  new_id(r.id);
  make_container_bundle(&r, store);
  reserve(&r);
  spawn_helper(&r);
  size_t length;
  char *text = recipe_text(&r, CREATING, &length);
  if (!write_state_file(&r, "creating.json", text, length)) undo(&r, "creating.json cannot be written");
  make_cgroup(&r);
  run_plan(&r);
  int status = wait_program(&r);
  remove_container(&r);
  return status;
}
