/*
 * The `oci` executable's front door: engines (containerd's shim, podman's conmon) start `oci` once
 * per operation, and Node's own start-up alone costs more than runc's whole `state`. The calls
 * on their hot path that need no plan (state, start, kill, delete, ps --format json, pause,
 * resume) are served here from the state files the TypeScript runtime writes
 * (packages/runtime/src/state/store.ts defines them), and so is a second `unpack --overlay REF`,
 * from the recipe the CLI left with the first (unpack.c); everything else, and every case this
 * program does not fully handle (a hook to run, an error to report, an option it does not know),
 * is handed to Node with the same argv and environment, before anything has changed. So the
 * TypeScript runtime stays the one place where behaviour is decided: this program takes only
 * the paths it can take exactly as Node would, and the same tests run through both.
 * OCI_NODE_ONLY=1 hands every call to Node; OCI_NATIVE_ONLY=1 (for tests) makes a hand-off an
 * error instead (status 125), which proves a call was served here.
 */
#ifndef OCI_FRONT_DOOR_H
#define OCI_FRONT_DOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>

struct json_object;

/* The call as parsed: global options, the command, its flags and positionals. */
struct call {
  int argc;
  char **argv;
  const char *root;
  const char *store; /* --store */
  const char *log_file;
  bool log_json;
  const char *command;
  const char *id;
  const char *signal; /* kill's second positional */
  bool force;         /* delete --force */
  bool json_format;   /* ps --format json */
};

/* What the runtime remembers about a container (state.json), as far as this program reads it. */
struct container {
  struct json_object *json;
  const char *id;
  int pid;
  const char *start_time;
  struct json_object *cgroup_dirs;    /* array of strings */
  struct json_object *cgroup_created; /* array of strings */
  int freezer_version;                /* 0: no freezer */
  const char *freezer_dir;
  char dir[4096]; /* ROOT/ID */
};

enum status { STATUS_CREATED, STATUS_RUNNING, STATUS_PAUSED, STATUS_STOPPED };

/* Hands the call to Node (the CLI's JS entry beside this executable), unchanged. */
noreturn void hand_to_node(const struct call *call, const char *why);
/* Prints the error as the CLI does (stderr line, --log line) and exits 1. */
noreturn void fail(const struct call *call, const char *message);
/* Creates the --log file, as the CLI does on every call. */
void open_log(const struct call *call);

/* 0, or -errno (ENOENT: no state.json); hands to Node on a file this program cannot read exactly. */
int load_container(const struct call *call, struct container *c);
bool is_alive(const struct call *call, const struct container *c);
bool is_frozen(const struct call *call, const struct container *c);
enum status status_of(const struct call *call, const struct container *c);
/* The container's lock (flock on its directory): an fd, or -errno (ENOENT when it does not exist). */
int lock_container(const struct call *call, const char *dir);
/* Pids in the container's cgroup; *count set; NULL when none. */
int *cgroup_pids(const struct call *call, const struct container *c, size_t *count);

int verb_state(const struct call *call);
int verb_start(const struct call *call);
int verb_kill(const struct call *call);
int verb_delete(const struct call *call);
int verb_ps(const struct call *call);
int verb_pause(const struct call *call);
int verb_resume(const struct call *call);
/* `oci unpack --overlay REF [BUNDLE]` from a recipe (unpack.c); `at`: the index of the command's first argument. */
int verb_unpack(const struct call *call, int at);

/* JSON.stringify of a UTF-8 string into out (which must hold 6 * length + 3 bytes). */
size_t json_quote(char *out, const char *text, size_t length);
/* Writes all of it to fd (waiting out EAGAIN); false on another error. */
bool write_all(int fd, const char *data, size_t length);
/* Reads a small file whole, NUL-terminated; NULL with errno on failure. */
char *read_small_file(const char *path, size_t *length);
/* path.resolve() of a path that needs no normalising; NULL for one that does (Node's case). */
char *resolved(const char *path);

#endif
