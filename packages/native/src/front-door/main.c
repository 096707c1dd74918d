/*
 * The command line as the CLI reads it (packages/cli/src/args.ts, main.ts), for the calls served
 * here: global options up to the command name, then the command's own flags and positionals.
 * Anything else on the line, well-formed or not, goes to Node, which knows every command and
 * says what is wrong in its own words.
 */
#include "front-door.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
  const char *name;
  int (*run)(const struct call *);
  int min, max; /* positionals */
} verbs[] = {
    {"state", verb_state, 1, 1}, {"start", verb_start, 1, 1}, {"kill", verb_kill, 1, 2},   {"delete", verb_delete, 1, 1},
    {"ps", verb_ps, 1, 1},       {"pause", verb_pause, 1, 1}, {"resume", verb_resume, 1, 1},
};

/* Whether the argument after an option that needs one is its value (args.ts: isValue). */
static bool is_value(const char *next) {
  return next && (next[0] != '-' || next[1] == '\0' || (next[1] >= '0' && next[1] <= '9'));
}

/* `--name VALUE` or `--name=VALUE` at argv[*i]: the value, or NULL when arg is not that option. */
static const char *option_value(const struct call *call, int *i, const char *name) {
  const char *arg = call->argv[*i];
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0) return NULL;
  if (arg[n] == '=') return arg + n + 1;
  if (arg[n] != '\0') return NULL;
  if (!is_value(*i + 1 < call->argc ? call->argv[*i + 1] : NULL)) hand_to_node(call, "an option without its value");
  return call->argv[++*i];
}

/* The state root: --root, else /run/oci for root and $XDG_RUNTIME_DIR/oci for others (cli/src/paths.ts). */
static const char *state_root(const struct call *call, const char *given) {
  if (given) return resolved(given);
  if (getuid() == 0) return "/run/oci";
  const char *runtime_dir = getenv("XDG_RUNTIME_DIR");
  if (!runtime_dir || !*runtime_dir || runtime_dir[0] != '/') return NULL;
  char *root = malloc(strlen(runtime_dir) + 5);
  if (root) sprintf(root, "%s/oci", runtime_dir);
  return resolved(root);
}

static void parse_globals(struct call *call, int *i) {
  const char *root = NULL;
  for (; *i < call->argc; ++*i) {
    const char *arg = call->argv[*i], *value;
    if (arg[0] != '-' || arg[1] == '\0') break;
    if ((value = option_value(call, i, "--root"))) {
      root = value;
    } else if ((value = option_value(call, i, "--log"))) {
      call->log_file = value;
    } else if ((value = option_value(call, i, "--log-format"))) {
      if (strcmp(value, "json") && strcmp(value, "text")) hand_to_node(call, "an unknown --log-format");
      call->log_json = !strcmp(value, "json");
    } else if ((value = option_value(call, i, "--rootless-runtime")) || (value = option_value(call, i, "--rootless"))) {
      /* Only create makes a cgroup, which is what --rootless-runtime (runc's --rootless) decides. */
      if (strcmp(value, "true") && strcmp(value, "false") && strcmp(value, "auto")) hand_to_node(call, "an unknown --rootless-runtime");
    } else if ((value = option_value(call, i, "--store"))) {
      call->store = value;
    } else {
      hand_to_node(call, "a global option served by Node");
    }
  }
  /* An empty value is the default to Node (`--root=`): not worth a second definition here. */
  if ((root && !*root) || (call->log_file && !*call->log_file) || (call->store && !*call->store)) hand_to_node(call, "an empty option value");
  call->root = state_root(call, root);
  if (!call->root) hand_to_node(call, "a state root that needs normalising");
}

/* The command's own flags (delete --force, ps --format json) and its positionals. */
static void parse_command(struct call *call, int at, int min, int max) {
  const char *positionals[2] = {NULL, NULL};
  int count = 0;
  for (int i = at; i < call->argc; i++) {
    const char *arg = call->argv[i], *value;
    if (arg[0] != '-' || arg[1] == '\0') {
      if (count == max) hand_to_node(call, "too many arguments");
      positionals[count++] = arg;
    } else if (!strcmp(call->command, "delete") && (!strcmp(arg, "--force") || !strcmp(arg, "-f"))) {
      call->force = true;
    } else if (!strcmp(call->command, "ps") && ((value = option_value(call, &i, "--format")) || (!strcmp(arg, "-f") && (value = option_value(call, &i, "-f"))))) {
      /* The table is Node's (it describes each process). */
      if (strcmp(value, "json")) hand_to_node(call, "ps as a table");
      call->json_format = true;
    } else {
      hand_to_node(call, "an option served by Node");
    }
  }
  if (count < min) hand_to_node(call, "too few arguments");
  call->id = positionals[0];
  call->signal = count > 1 ? positionals[1] : NULL;
}

/* runc's alphabet for ids (runtime/src/id.ts); another id is Node's to refuse. */
static bool valid_id(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 1024 || !strcmp(id, ".") || !strcmp(id, "..")) return false;
  for (const char *c = id; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("_+-.", *c))) return false;
  return true;
}

int main(int argc, char **argv) {
  struct call call = {.argc = argc, .argv = argv};
  const char *node_only = getenv("OCI_NODE_ONLY");
  if (node_only && *node_only && strcmp(node_only, "0")) hand_to_node(&call, "OCI_NODE_ONLY");
  int at = 1;
  parse_globals(&call, &at);
  if (at == argc) hand_to_node(&call, "no command");
  call.command = argv[at];
  if (!strcmp(call.command, "unpack")) return verb_unpack(&call, at + 1);
  if (!strcmp(call.command, "run")) return verb_run(&call, at + 1);
  for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
    if (strcmp(verbs[v].name, call.command)) continue;
    parse_command(&call, at + 1, verbs[v].min, verbs[v].max);
    if (!valid_id(call.id)) hand_to_node(&call, "an id Node refuses");
    if (strlen(call.root) + strlen(call.id) + 2 > 4096) hand_to_node(&call, "a long path");
    open_log(&call);
    return verbs[v].run(&call);
  }
  hand_to_node(&call, "a command served by Node");
}
