/*
 * A run recipe (packages/cli/src/run-recipe.ts says what it holds and when it may be followed):
 * read, checked against this call, store, code and host, and its texts filled in for a run, with
 * the command line made as the image conversion makes it. run.c follows it.
 */
#include "front-door.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each hole in text[0..length) replaced by values[hole - 1]; NUL-terminated. */
char *fill_holes(const char *text, size_t length, const char *const values[HOLES], size_t *out_length) {
  size_t size = length + 1;
  for (size_t i = 0; i < length; i++)
    if (text[i] >= HOLE_ID && text[i] <= HOLES) size += strlen(values[text[i] - 1]);
  char *out = malloc(size), *at = out;
  if (!out) exit(1);
  for (size_t i = 0; i < length; i++) {
    if (text[i] >= HOLE_ID && text[i] <= HOLES) at = stpcpy(at, values[text[i] - 1]);
    else *at++ = text[i];
  }
  *at = '\0';
  if (out_length) *out_length = (size_t)(at - out);
  return out;
}

static struct json_object *array_of(struct json_object *object, const char *key, size_t width) {
  struct json_object *array;
  if (!json_object_object_get_ex(object, key, &array) || !json_object_is_type(array, json_type_array)) return NULL;
  for (size_t i = 0; i < json_object_array_length(array); i++) {
    struct json_object *item = json_object_array_get_idx(array, i);
    if (width == 0 ? !json_object_is_type(item, json_type_string) : !json_object_is_type(item, json_type_array) || json_object_array_length(item) != width)
      return NULL;
    for (size_t j = 0; j < width; j++)
      if (!json_object_is_type(json_object_array_get_idx(item, j), json_type_string)) return NULL;
  }
  return array;
}

const char *recipe_string(struct json_object *array, size_t i) { return json_object_get_string(json_object_array_get_idx(array, i)); }

/* run-recipe.ts's recipe file: the sha256 of IMAGE and a NUL. */
static void recipe_path(const char *store, const char *image, char out[4200]) {
  char digest[65];
  sha256_hex(image, strlen(image) + 1, digest);
  snprintf(out, 4200, "%s/snapshots/recipes/@run/%s", store, digest);
}

/* The recipe's image, store and root are this call's. */
static bool same_call(struct json_object *header, const char *image, const char *store, const char *root) {
  return !strcmp(header_string(header, "ref"), image) && !strcmp(header_string(header, "store"), store) && !strcmp(header_string(header, "root"), root);
}

/* from-image.ts: args = the entrypoint, then the line after IMAGE or else the cmd; false when Node would read it otherwise. */
bool command_line(const struct run_recipe *recipe, char **line, int count, struct command *r) {
  struct json_object *entrypoint = recipe->entrypoint, *rest = recipe->cmd;
  size_t first = json_object_array_length(entrypoint), more = count > 1 ? (size_t)count - 1 : json_object_array_length(rest);
  r->argc = first + more;
  r->args = calloc(r->argc + 1, sizeof *r->args);
  if (!r->args || r->argc == 0) return false;
  size_t size = 16;
  for (size_t i = 0; i < r->argc; i++) {
    r->args[i] = i < first ? recipe_string(entrypoint, i) : count > 1 ? line[i - first + 1] : recipe_string(rest, i - first);
    if (!is_utf8(r->args[i], strlen(r->args[i]))) return false;
    size += 6 * strlen(r->args[i]) + 8;
  }
  /* JSON.stringify(args, null, '\t') two levels down. */
  char *out = r->json = malloc(size);
  if (!out) exit(1);
  out = stpcpy(out, "[");
  for (size_t i = 0; i < r->argc; i++) {
    out = stpcpy(out, i ? ",\n\t\t\t" : "\n\t\t\t");
    out += json_quote(out, r->args[i], strlen(r->args[i]));
  }
  strcpy(out, "\n\t\t]");
  return true;
}

/* The v1 controllers cgroups/layout.ts knows (V1_CONTROLLERS): a v1 mount's key is those among its super options, and name=…. */
static const char *const v1_controllers[] = {"cpu",     "cpuacct", "cpuset",     "memory",  "devices", "freezer", "net_cls",
                                             "net_prio", "blkio",   "perf_event", "hugetlb", "pids",    "rdma",    "misc"};

static bool is_v1_controller(const char *option) {
  if (!strncmp(option, "name=", 5)) return true;
  for (size_t i = 0; i < sizeof v1_controllers / sizeof v1_controllers[0]; i++)
    if (!strcmp(option, v1_controllers[i])) return true;
  return false;
}

/* mountinfo's octal escapes (space, tab, newline, backslash) undone, in place. */
static char *unescaped(char *field) {
  char *out = field;
  for (const char *in = field; *in; out++) {
    if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
      *out = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
      in += 4;
    } else {
      *out = *in++;
    }
  }
  *out = '\0';
  return field;
}

/*
 * cgroups/layout.ts's readLayout, a line "VERSION KEY MOUNTPOINT ROOT" a hierarchy: each one's
 * first mount in /proc/self/mountinfo. Later mounts of a hierarchy (those a container without a
 * mount namespace of its own adds) change nothing, here as there.
 */
static bool same_layout(const char *recorded) {
  char *mounts = read_small_file("/proc/self/mountinfo", NULL);
  if (!mounts) return false;
  enum { MAX_HIERARCHIES = 32, MAX_KEY = 512 };
  char keys[MAX_HIERARCHIES][MAX_KEY], *line_at, *field_at, *option_at;
  size_t hierarchies = 0, matched = 0, recorded_length = strlen(recorded);
  bool same = true;
  for (char *line = strtok_r(mounts, "\n", &line_at); same && line; line = strtok_r(NULL, "\n", &line_at)) {
    char *fields[64];
    int count = 0, dash = -1;
    for (char *field = strtok_r(line, " ", &field_at); field && count < 64; field = strtok_r(NULL, " ", &field_at)) {
      if (count >= 6 && dash < 0 && !strcmp(field, "-")) dash = count;
      fields[count++] = field;
    }
    if (dash < 0 || dash + 1 >= count) continue;
    int version = !strcmp(fields[dash + 1], "cgroup") ? 1 : !strcmp(fields[dash + 1], "cgroup2") ? 2 : 0;
    char key[MAX_KEY] = "";
    if (version == 1 && dash + 3 < count)
      for (char *option = strtok_r(fields[dash + 3], ",", &option_at); option; option = strtok_r(NULL, ",", &option_at))
        if (is_v1_controller(option) && strlen(key) + strlen(option) + 2 < sizeof key) strcat(strcat(key, *key ? "," : ""), option);
    if (!version || (version == 1 && !*key)) continue;
    bool seen = false;
    for (size_t h = 0; h < hierarchies && !seen; h++) seen = !strcmp(keys[h], key);
    if (seen) continue;
    if (hierarchies == MAX_HIERARCHIES) {
      same = false;
      break;
    }
    strcpy(keys[hierarchies++], key);
    char entry[9000];
    int n = snprintf(entry, sizeof entry, "%d %s %s %s\n", version, key, unescaped(fields[4]), unescaped(fields[3]));
    same = n > 0 && (size_t)n < sizeof entry && matched + (size_t)n <= recorded_length && !strncmp(recorded + matched, entry, (size_t)n);
    matched += (size_t)n;
  }
  free(mounts);
  return same && matched == recorded_length;
}

/* The host facts the plan was made from read the same (run-recipe.ts's hostFacts). */
static bool same_host(struct json_object *header) {
  struct json_object *host, *files, *exist, *layout;
  if (!json_object_object_get_ex(header, "host", &host) || !json_object_object_get_ex(host, "files", &files) ||
      !json_object_object_get_ex(host, "exist", &exist) || !json_object_object_get_ex(host, "layout", &layout) ||
      !json_object_is_type(files, json_type_object) || !json_object_is_type(exist, json_type_object) || !json_object_is_type(layout, json_type_string))
    return false;
  json_object_object_foreach(files, file, content) {
    size_t length;
    char *now = read_small_file(file, &length);
    bool same = now && json_object_is_type(content, json_type_string) && length == (size_t)json_object_get_string_len(content) &&
                !memcmp(now, json_object_get_string(content), length);
    free(now);
    if (!same) return false;
  }
  json_object_object_foreach(exist, path, expected) {
    if (!json_object_is_type(expected, json_type_boolean) || (access(path, F_OK) == 0) != json_object_get_boolean(expected)) return false;
  }
  return same_layout(json_object_get_string(layout));
}

/* The helper the plan was written for, opened: the same file (size, mtime) as when recorded; -1 if not. */
int open_helper(struct json_object *header) {
  struct json_object *helper, *size;
  if (!json_object_object_get_ex(header, "helper", &helper) || !json_object_object_get_ex(helper, "size", &size)) return -1;
  int fd = open(header_string(helper, "path"), O_RDONLY | O_CLOEXEC);
  struct stat st;
  char mtime[32] = "";
  if (fd >= 0 && fstat(fd, &st) == 0) snprintf(mtime, sizeof mtime, "%lld", (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
  if (fd >= 0 && (!*mtime || st.st_size != json_object_get_int64(size) || strcmp(mtime, header_string(helper, "mtime")))) close(fd), fd = -1;
  return fd;
}

/* The cgroup's eBPF device filter, if it has one: its v2 directory, and its instructions from hex. */
static bool device_filter(struct json_object *cgroup, struct run_recipe *r) {
  struct json_object *filter, *dir, *program;
  r->filter_dir = NULL;
  if (!json_object_object_get_ex(cgroup, "deviceFilter", &filter)) return true;
  if (!json_object_object_get_ex(filter, "dir", &dir) || !json_object_object_get_ex(filter, "program", &program) ||
      !json_object_is_type(dir, json_type_string) || !json_object_is_type(program, json_type_string))
    return false;
  const char *hex = json_object_get_string(program);
  size_t length = strlen(hex);
  if (length == 0 || length % 16) return false; /* whole 8-byte instructions */
  r->filter = malloc(length / 2);
  if (!r->filter) exit(1);
  for (size_t i = 0; i < length / 2; i++) {
    unsigned byte;
    if (sscanf(hex + 2 * i, "%2x", &byte) != 1 || !isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1])) return false;
    r->filter[i] = (unsigned char)byte;
  }
  r->filter_length = length / 2;
  r->filter_dir = json_object_get_string(dir);
  return true;
}

static bool read_run_recipe(const char *path, struct run_recipe *r) {
  struct recipe_file file;
  struct json_object *cgroup, *parts;
  if (!read_recipe(path, &file)) return false;
  r->header = file.header;
  if (!json_object_object_get_ex(r->header, "cgroup", &cgroup) || !(r->made = array_of(cgroup, "made", 0)) || !(r->cpuset = array_of(cgroup, "cpuset", 0)) ||
      !(r->writes = array_of(cgroup, "writes", 4)) || !(r->entrypoint = array_of(r->header, "entrypoint", 0)) || !(r->cmd = array_of(r->header, "cmd", 0)) ||
      !(r->env = array_of(r->header, "env", 0)))
    return false;
  if (!device_filter(cgroup, r)) return false;
  if (!json_object_object_get_ex(r->header, "parts", &parts) || !json_object_is_type(parts, json_type_array) || json_object_array_length(parts) != TEXTS) return false;
  size_t offset = 0;
  for (size_t i = 0; i < TEXTS; i++) {
    struct json_object *length = json_object_array_get_idx(parts, i);
    int64_t n = json_object_is_type(length, json_type_int) ? json_object_get_int64(length) : -1;
    if (n < 0 || (size_t)n > file.body_length - offset) return false;
    r->texts[i] = file.body + offset;
    r->lengths[i] = (size_t)n;
    offset += (size_t)n;
  }
  return offset == file.body_length;
}

bool load_run_recipe(const char *store, const char *root, const char *image, struct run_recipe *r) {
  char path[4200];
  static const char *const code[] = {"run.cjs", "run-image.cjs"};
  recipe_path(store, image, path);
  return read_run_recipe(path, r) && same_call(r->header, image, store, root) && overlay_fields(r->header, store, &r->overlay) &&
         recipe_current(r->header, store, code, 2) && same_host(r->header);
}
