/*
 * The `oci` executable's front door: engines (containerd's shim, podman's conmon) start `oci` once
 * per operation, and Node's own start-up alone costs more than runc's whole `state`. The calls
 * on their hot path that need no plan (state, start, kill, delete, ps --format json, pause,
 * resume) are served here from the state files the TypeScript runtime writes
 * (packages/runtime/src/state/store.ts defines them), and so are a second `unpack --overlay REF`
 * and a second `run IMAGE [ARG…]`, from the recipe the CLI left with the first (unpack.c, run.c,
 * recipe.c); everything else, and every case this program does not fully handle (a hook to run,
 * an error to report, an option it does not know), is handed to Node with the same argv and
 * environment, before anything has changed (or once what it began is undone). So the
 * TypeScript runtime stays the one place where behaviour is decided: this program takes only
 * the paths it can take exactly as Node would, and the same tests run through both.
 * OCI_NODE_ONLY=1 hands every call to Node; OCI_NATIVE_ONLY=1 (for tests) makes a hand-off an
 * error instead (status 125), which proves a call was served here.
 */
#ifndef OCI_FRONT_DOOR_H
#define OCI_FRONT_DOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
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
  /* Past what Node cannot do again (a program has run): a hand-off is a failure instead. */
  bool begun;
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

/* Hands the call to Node (the CLI's JS entry beside this executable), unchanged; fails a call that has begun. */
noreturn void hand_to_node(const struct call *call, const char *why);
/* Prints the error as the CLI does (stderr line, --log line) and exits 1. */
noreturn void fail(const struct call *call, const char *message);
/* new Date().toISOString() */
void iso_time(char out[32]);
/* Creates the --log file, as the CLI does on every call. */
void open_log(const struct call *call);

/* 0, or -errno (ENOENT: no state.json); hands to Node on a file this program cannot read exactly. */
int load_container(const struct call *call, struct container *c);
/* /proc/PID/stat's state (field 3, when `state` is given) and start time (field 22); false when it cannot be read. */
bool process_stat(int pid, char *state, char start_time[32]);
bool is_alive(const struct call *call, const struct container *c);
bool is_frozen(const struct call *call, const struct container *c);
enum status status_of(const struct call *call, const struct container *c);
/* The container's lock (flock on its directory): an fd, or -errno (ENOENT when it does not exist). */
int lock_container(const struct call *call, const char *dir);
/* Pids in the container's cgroup; *count set; NULL when none. */
int *cgroup_pids(const struct call *call, const struct container *c, size_t *count);

/* A connection to the container's start socket (in its state directory `dir`), or -1. */
int connect_start_socket(const char *dir);
/* delete's steps: whatever runs in the container killed, its cgroups removed, its state directory removed. */
void stop(const struct call *call, const struct container *c);
void remove_cgroup(const struct call *call, const struct container *c);
void remove_state(const struct call *call, const char *dir);

int verb_state(const struct call *call);
int verb_start(const struct call *call);
int verb_kill(const struct call *call);
int verb_delete(const struct call *call);
int verb_ps(const struct call *call);
int verb_pause(const struct call *call);
int verb_resume(const struct call *call);
/* `oci unpack --overlay REF [BUNDLE]` from a recipe (unpack.c); `at`: the index of the command's first argument. */
int verb_unpack(const struct call *call, int at);
/* `oci run IMAGE [ARG…]` from a recipe (run.c). */
int verb_run(const struct call *call, int at);

/* Recipes (recipe.c): a JSON header line, then a body. */
struct recipe_file {
  struct json_object *header;
  const char *body;
  size_t body_length;
};
/* The snapshots an overlay bundle mounts, from a recipe's header (arrays of strings, checked). */
struct overlay {
  struct json_object *chains, *lower, *volumes;
};
/* config.json, in parts written one after the other. */
struct config_text {
  const char *parts[5];
  size_t lengths[5];
  int count;
};
/* What has been made of an overlay bundle, for undoing it. */
struct made {
  char record[4096];
  char dirs[3][4096]; /* upper, work, rootfs */
  int dir_count;
};
bool read_recipe(const char *path, struct recipe_file *r);
/* The header's chains, lower and volumes, well formed and under this store's snapshots. */
bool overlay_fields(struct json_object *header, const char *store, struct overlay *o);
/* Whether index.json is still the header's `index`, and the commands' files (in cli/dist/commands) hash to its `code`. */
bool recipe_current(struct json_object *header, const char *store, const char *const code[], int count);
/* The header's string `key`, or "". */
const char *header_string(struct json_object *header, const char *key);
/* users.ts's addUser: the bundle recorded as a user of the snapshots `chains`. */
bool add_user(const char *store, const char *bundle, struct json_object *chains, struct made *made);
/* The writable layer, the volumes and config.json, once the snapshots are known to be there. */
bool make_bundle(const char *bundle, const struct overlay *o, const struct config_text *config, struct made *made);
void undo_bundle(struct made *made);
/* A path that JSON and an overlay's options both carry as it is. */
bool plain(const char *path);
void sha256_hex(const void *data, size_t length, char out[65]);
void base36(unsigned long long value, char *out);
/* Written whole to a new or truncated file (flags: O_EXCL or O_TRUNC). */
bool write_file(const char *path, int flags, mode_t mode, const char *const parts[], const size_t lengths[], int count);

/* A run recipe (run-recipe.c): the texts after its header, in this order, and the holes in them (run-recipe.ts's HOLE). */
enum { CONFIG, CREATING, STATE, PLAN, TEXTS };
enum { HOLE_ID = 1, HOLE_PID, HOLE_START_TIME, HOLE_CREATED, HOLE_PROGRAM, HOLE_ARGS, HOLES = HOLE_ARGS };
struct run_recipe {
  struct json_object *header;
  struct overlay overlay;
  struct json_object *entrypoint, *cmd, *env;
  struct json_object *made, *cpuset, *writes; /* the cgroup's */
  const char *filter_dir;                     /* its eBPF device filter's v2 directory, or NULL */
  unsigned char *filter;                      /* and the filter's instructions */
  size_t filter_length;
  const char *texts[TEXTS];
  size_t lengths[TEXTS];
};
/* The program's command line: the image's entrypoint, then the line after IMAGE or its cmd. */
struct command {
  const char **args;
  size_t argc;
  char *json; /* as config.json holds them */
};
/* The recipe of IMAGE in this store, for this root, if it is there and may be followed (its index, code and host the same). */
bool load_run_recipe(const char *store, const char *root, const char *image, struct run_recipe *r);
/* The helper the plan was written for, opened: the same file (size, mtime) as when recorded; -1 if not. */
int open_helper(struct json_object *header);
/* from-image.ts's args for `line` (IMAGE and what follows it); false when Node would read them otherwise. */
bool command_line(const struct run_recipe *recipe, char **line, int count, struct command *out);
/* Each hole in text[0..length) replaced by values[hole - 1]; NUL-terminated. */
char *fill_holes(const char *text, size_t length, const char *const values[HOLES], size_t *out_length);
/* The recipe array's string i. */
const char *recipe_string(struct json_object *array, size_t i);

/* Whether text is well-formed UTF-8 (Node reads anything else with U+FFFD in it). */
bool is_utf8(const char *text, size_t length);
/* JSON.stringify of a UTF-8 string into out (which must hold 6 * length + 3 bytes). */
size_t json_quote(char *out, const char *text, size_t length);
/* Writes all of it to fd (waiting out EAGAIN); false on another error. */
bool write_all(int fd, const char *data, size_t length);
/* Reads a small file whole, NUL-terminated; NULL with errno on failure. */
char *read_small_file(const char *path, size_t *length);
/* path.resolve() of a path that needs no normalising; NULL for one that does (Node's case). */
char *resolved(const char *path);

#endif
