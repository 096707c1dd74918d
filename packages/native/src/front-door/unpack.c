/*
 * `oci unpack --overlay REF [BUNDLE]` of an image whose snapshots are there: made from the recipe
 * the CLI left when it made the last overlay bundle of REF (packages/cli/src/overlay-recipe.ts
 * says what a recipe holds and when it may be followed), doing what makeOverlayBundle
 * (packages/bundle/src/overlay.ts) does, in its order: bundle lock, user record, snapshots
 * checked, writable layer, volumes, config.json. A case this program does not take exactly as
 * Node would goes to Node before anything changed; a failure once it has begun is undone, then
 * handed to Node too, which does the work again and says what is wrong in its own words.
 */
#include "front-door.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The recipe's header (its first line) and config.json less the bundle directory. */
struct recipe {
  struct json_object *header;
  struct overlay overlay;
  const char *config;
  size_t config_length;
  size_t bundle_at[2];
};

static bool is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/* overlay-recipe.ts's recipeFile: encodeURIComponent(ref), for printable ASCII not starting with '.', 200 bytes at most. */
static bool recipe_name(const char *ref, char out[256]) {
  if (ref[0] == '.') return false;
  size_t n = 0;
  for (const unsigned char *c = (const unsigned char *)ref; *c; c++) {
    bool as_is = is_alnum(*c) || strchr("-_.!~*'()", *c);
    if (*c < 0x21 || *c > 0x7e || n + (as_is ? 1 : 3) > 200) return false;
    if (as_is) out[n++] = (char)*c;
    else n += (size_t)sprintf(out + n, "%%%02X", *c);
  }
  out[n] = '\0';
  return true;
}

/* The recipe, if it is there, well formed, and made from this index.json by this code. */
static bool load_recipe(const char *store, const char *ref, struct recipe *r) {
  char name[256], path[4096];
  if (!recipe_name(ref, name) || snprintf(path, sizeof path, "%s/snapshots/recipes/%s", store, name) >= (int)sizeof path) return false;
  struct recipe_file file;
  if (!read_recipe(path, &file)) return false;
  r->header = file.header;
  r->config = file.body;
  r->config_length = file.body_length;
  struct json_object *at;
  if (!json_object_object_get_ex(r->header, "bundleAt", &at) || !json_object_is_type(at, json_type_array) || json_object_array_length(at) != 2) return false;
  for (size_t i = 0; i < 2; i++) {
    struct json_object *item = json_object_array_get_idx(at, i);
    int64_t offset = json_object_is_type(item, json_type_int) ? json_object_get_int64(item) : -1;
    if (offset < (i ? (int64_t)r->bundle_at[0] : 0) || offset > (int64_t)r->config_length) return false;
    r->bundle_at[i] = (size_t)offset;
  }
  static const char *const code[] = {"unpack.cjs"};
  return overlay_fields(r->header, store, &r->overlay) && recipe_current(r->header, store, code, 1);
}

/* withBundleLock's lock (image/src/store/lock.ts: LockNames, the addon's bindAbstract); false while another holds it. */
static bool lock_bundle(const char *dir) {
  struct stat st;
  if (stat(dir, &st)) return false;
  char dev[32], ino[32];
  base36((unsigned long long)st.st_dev, dev);
  base36((unsigned long long)st.st_ino, ino);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "oci-bundle/%s.%s/unpack", dev, ino);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  /* Held until exit; closed by exec when the call goes to Node after all. */
  return fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
}

/* Whether the directory holds nothing of a bundle, nor a dead unpack's temps (Node removes those, or says it is taken). */
static bool unused(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return false;
  bool clear = true;
  for (struct dirent *e; clear && (e = readdir(d));) {
    const char *n = e->d_name;
    clear = strcmp(n, "config.json") && strcmp(n, "rootfs") && strcmp(n, "upper") && strcmp(n, "work") && strncmp(n, ".rootfs-", 8) && strncmp(n, ".config.json-", 13);
  }
  closedir(d);
  return clear;
}

/* The bundle directory: BUNDLE made absolute as path.resolve does, or the working directory. */
static char *bundle_dir(const char *given) {
  if (given) return resolved(given);
  char *cwd = getcwd(NULL, 0);
  return cwd && strcmp(cwd, "/") ? cwd : NULL;
}

int verb_unpack(const struct call *call, int at) {
  const char *positionals[2] = {NULL, NULL};
  int count = 0;
  bool overlay = false;
  for (int i = at; i < call->argc; i++) {
    const char *arg = call->argv[i];
    if (!strcmp(arg, "--overlay")) overlay = true;
    else if (arg[0] != '-' && count < 2) positionals[count++] = arg;
    else hand_to_node(call, "an unpack option or argument served by Node");
  }
  if (!overlay || count == 0) hand_to_node(call, "an unpack served by Node");
  /* An unprivileged user's snapshots and config.json are another form (snapshots-user, rootless). */
  if (getuid() != 0 || geteuid() != 0) hand_to_node(call, "an unprivileged unpack");
  const char *env = getenv("OCI_STORE");
  const char *store = call->store ? resolved(call->store) : env && *env ? resolved(env) : "/var/lib/oci";
  char *bundle = bundle_dir(positionals[1]);
  if (!store || !bundle || !plain(bundle) || strlen(bundle) > 2048) hand_to_node(call, "a path that needs normalising or escaping");
  open_log(call);

  struct recipe recipe;
  if (!load_recipe(store, positionals[0], &recipe)) hand_to_node(call, "no recipe for this image, or not this index's and this code's");
  struct stat st;
  if ((mkdir(bundle, 0700) && (errno != EEXIST || stat(bundle, &st) || !S_ISDIR(st.st_mode))) || !lock_bundle(bundle) || !unused(bundle))
    hand_to_node(call, "a bundle directory that is not new, or in use");

  /* The bundle directory goes in where config.json names it, at bundleAt. */
  const size_t *cut = recipe.bundle_at, n = strlen(bundle);
  struct config_text config = {
      .parts = {recipe.config, bundle, recipe.config + cut[0], bundle, recipe.config + cut[1]},
      .lengths = {cut[0], n, cut[1] - cut[0], n, recipe.config_length - cut[1]},
      .count = 5,
  };
  struct made made = {.dir_count = 0};
  if (add_user(store, bundle, recipe.overlay.chains, &made) && make_bundle(bundle, &recipe.overlay, &config, &made)) return 0;
  /* Undone as makeOverlayBundle undoes a failure (the volumes stay), then Node's to do again. */
  undo_bundle(&made);
  hand_to_node(call, "a bundle that could not be made here");
}
