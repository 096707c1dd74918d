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
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The recipe's header (its first line) and config.json less the bundle directory. */
struct recipe {
  struct json_object *header;
  struct json_object *chains, *lower, *volumes; /* arrays of strings, checked */
  const char *config;
  size_t config_length;
  size_t bundle_at[2];
};

/* What has been made, for undoing it. */
struct made {
  char record[4096];
  char dirs[3][4096]; /* upper, work, rootfs */
  int dir_count;
};

static bool is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/* A path that JSON and an overlay's options both carry as it is (overlay.ts refuses ':' and ','). */
static bool plain(const char *path) {
  for (const unsigned char *c = (const unsigned char *)path; *c; c++)
    if (*c < 0x20 || *c > 0x7e || strchr("\"\\:,", *c)) return false;
  return true;
}

static void sha256_hex(const void *data, size_t length, char out[65]) {
  struct sha256_ctx context;
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_init(&context);
  sha256_update(&context, length, data);
  sha256_digest(&context, sizeof digest, digest);
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) sprintf(out + 2 * i, "%02x", digest[i]);
}

static bool file_digest(const char *path, char out[65]) {
  size_t length;
  char *data = read_small_file(path, &length);
  if (!data) return false;
  sha256_hex(data, length, out);
  free(data);
  return true;
}

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

static bool is_chain_id(const char *id) {
  if (strncmp(id, "sha256:", 7) || strlen(id) != 7 + 64) return false;
  for (const char *c = id + 7; *c; c++)
    if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))) return false;
  return true;
}

/* volumes/NAME, one component (create.ts's volumeDirs holds them to that). */
static bool is_volume(const char *name) {
  if (strncmp(name, "volumes/", strlen("volumes/"))) return false;
  const char *leaf = name + strlen("volumes/");
  return *leaf && !strchr(leaf, '/') && strcmp(leaf, ".") && strcmp(leaf, "..");
}

/* The header's array `key`, each of its strings passing `check` (no NUL inside: a C string ends there). */
static struct json_object *strings(struct json_object *header, const char *key, bool (*check)(const char *)) {
  struct json_object *array;
  if (!json_object_object_get_ex(header, key, &array) || !json_object_is_type(array, json_type_array)) return NULL;
  for (size_t i = 0; i < json_object_array_length(array); i++) {
    struct json_object *item = json_object_array_get_idx(array, i);
    if (!json_object_is_type(item, json_type_string)) return NULL;
    const char *s = json_object_get_string(item);
    if ((size_t)json_object_get_string_len(item) != strlen(s) || !check(s)) return NULL;
  }
  return array;
}

/* An absolute path with no "." or ".." in it: what layout.ts names a snapshot's fs/ (under the store, checked below). */
static bool is_snapshot_dir(const char *path) {
  char *normal = path[0] == '/' ? resolved(path) : NULL;
  bool ok = normal && !strcmp(normal, path);
  free(normal);
  return ok;
}

static const char *header_string(struct json_object *header, const char *key) {
  struct json_object *value;
  return json_object_object_get_ex(header, key, &value) && json_object_is_type(value, json_type_string) ? json_object_get_string(value) : "";
}

/* The recipe, if it is there, well formed, and made from this index.json by this code. */
static bool load_recipe(const char *store, const char *ref, struct recipe *r) {
  char name[256], path[4096];
  if (!recipe_name(ref, name) || snprintf(path, sizeof path, "%s/snapshots/recipes/%s", store, name) >= (int)sizeof path) return false;
  size_t length;
  char *text = read_small_file(path, &length);
  char *newline = text ? memchr(text, '\n', length) : NULL;
  if (!newline) return false;
  *newline = '\0';
  r->header = json_tokener_parse(text);
  if (!json_object_is_type(r->header, json_type_object)) return false;
  r->config = newline + 1;
  r->config_length = length - (size_t)(r->config - text);
  struct json_object *at;
  if (!json_object_object_get_ex(r->header, "bundleAt", &at) || !json_object_is_type(at, json_type_array) || json_object_array_length(at) != 2) return false;
  for (size_t i = 0; i < 2; i++) {
    struct json_object *item = json_object_array_get_idx(at, i);
    int64_t offset = json_object_is_type(item, json_type_int) ? json_object_get_int64(item) : -1;
    if (offset < (i ? (int64_t)r->bundle_at[0] : 0) || offset > (int64_t)r->config_length) return false;
    r->bundle_at[i] = (size_t)offset;
  }
  r->chains = strings(r->header, "chains", is_chain_id);
  r->lower = strings(r->header, "lower", is_snapshot_dir);
  r->volumes = strings(r->header, "volumes", is_volume);
  if (!r->chains || !r->lower || !r->volumes || json_object_array_length(r->lower) == 0) return false;
  /* Snapshots named through this --store, as Node would name them now. */
  int prefix = snprintf(path, sizeof path, "%s/snapshots/", store);
  for (size_t i = 0; i < json_object_array_length(r->lower); i++)
    if (strncmp(json_object_get_string(json_object_array_get_idx(r->lower, i)), path, (size_t)prefix)) return false;

  char digest[65], self[4096];
  if (snprintf(path, sizeof path, "%s/index.json", store) >= (int)sizeof path || !file_digest(path, digest) || strcmp(digest, header_string(r->header, "index")))
    return false;
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 64);
  if (n <= 0) return false;
  self[n] = '\0';
  /* This executable is packages/cli/bin/oci; the command's bundle, packages/cli/dist/commands/unpack.cjs. */
  strcpy(strrchr(self, '/'), "/../dist/commands/unpack.cjs");
  return file_digest(self, digest) && !strcmp(digest, header_string(r->header, "code"));
}

static void base36(unsigned long long value, char *out) {
  char digits[32];
  int n = 0;
  do digits[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[value % 36];
  while ((value /= 36));
  while (n) *out++ = digits[--n];
  *out = '\0';
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

static bool write_file(const char *path, int flags, mode_t mode, const char *parts[], const size_t lengths[], int count) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, mode);
  if (fd < 0) return false;
  bool ok = true;
  for (int i = 0; i < count && ok; i++) ok = write_all(fd, parts[i], lengths[i]);
  return close(fd) == 0 && ok;
}

/* users.ts's addUser: snapshots/users/ID, ID the first 32 hex digits of sha256(bundle). */
static bool add_user(const char *store, const char *bundle, const struct recipe *r, struct made *made) {
  char users[4000], digest[65], temp[4200];
  snprintf(users, sizeof users, "%s/snapshots/users", store);
  if (mkdir(users, 0777) && errno != EEXIST) return false;
  sha256_hex(bundle, strlen(bundle), digest);
  digest[32] = '\0';
  snprintf(made->record, sizeof made->record, "%s/%s", users, digest);
  snprintf(temp, sizeof temp, "%s.%d", made->record, (int)getpid());
  const char *json = json_object_to_json_string_ext(r->chains, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  const char *parts[] = {"{\"bundle\":\"", bundle, "\",\"chains\":", json, "}"};
  size_t lengths[5];
  for (int i = 0; i < 5; i++) lengths[i] = strlen(parts[i]);
  if (write_file(temp, O_TRUNC, 0666, parts, lengths, 5) && rename(temp, made->record) == 0) return true;
  unlink(temp);
  return false;
}

static bool make_dir(struct made *made, const char *bundle, const char *name, mode_t mode) {
  char *path = made->dirs[made->dir_count];
  snprintf(path, sizeof made->dirs[0], "%s/%s", bundle, name);
  if (mkdir(path, mode)) return false;
  made->dir_count++;
  return true;
}

static bool is_overlay_xattr(const char *name) { return !strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13); }

/* root-attributes.ts's copyRootAttributes: owner, mode, xattrs (not the overlay's own) and times. */
static bool copy_root_attributes(const char *from, const char *to) {
  struct stat st;
  if (lstat(from, &st) || lchown(to, st.st_uid, st.st_gid) || chmod(to, st.st_mode & 07777)) return false;
  char names[65536], value[65536];
  ssize_t length = llistxattr(from, names, sizeof names);
  if (length < 0) return false;
  for (const char *name = names; name < names + length; name += strlen(name) + 1) {
    if (is_overlay_xattr(name)) continue;
    ssize_t size = lgetxattr(from, name, value, sizeof value);
    if (size < 0 || lsetxattr(to, name, value, (size_t)size, 0)) return false;
  }
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  return utimensat(AT_FDCWD, to, times, AT_SYMLINK_NOFOLLOW) == 0;
}

/* create.ts's makeVolumeDirs: BUNDLE/volumes and each volume's directory, kept when there from before. */
static bool make_volume(const char *bundle, const char *name) {
  char path[4200];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", bundle, name);
  return mkdir(path, 0755) == 0 || (errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

static bool make_volumes(const char *bundle, struct json_object *volumes) {
  size_t count = json_object_array_length(volumes);
  if (count > 0 && !make_volume(bundle, "volumes")) return false;
  for (size_t i = 0; i < count; i++)
    if (!make_volume(bundle, json_object_get_string(json_object_array_get_idx(volumes, i)))) return false;
  return true;
}

/* create.ts's writeConfig: a temp file of this pid renamed over config.json; the bundle directory put in at bundleAt. */
static bool write_config(const char *bundle, const struct recipe *r) {
  char temp[4200], file[4200];
  snprintf(temp, sizeof temp, "%s/.config.json-%d", bundle, (int)getpid());
  snprintf(file, sizeof file, "%s/config.json", bundle);
  const size_t *at = r->bundle_at, n = strlen(bundle);
  const char *parts[] = {r->config, bundle, r->config + at[0], bundle, r->config + at[1]};
  const size_t lengths[] = {at[0], n, at[1] - at[0], n, r->config_length - at[1]};
  if (unlink(temp) && errno != ENOENT) return false;
  if (write_file(temp, O_EXCL, 0644, parts, lengths, 5) && rename(temp, file) == 0) return true;
  unlink(temp);
  return false;
}

/* The writable layer, the volumes and config.json, once the snapshots are known to be there. */
static bool make_bundle(const char *bundle, const struct recipe *r, struct made *made) {
  for (size_t i = 0; i < json_object_array_length(r->lower); i++) {
    struct stat st;
    if (stat(json_object_get_string(json_object_array_get_idx(r->lower, i)), &st) || !S_ISDIR(st.st_mode)) return false;
  }
  return make_dir(made, bundle, "upper", 0755) && make_dir(made, bundle, "work", 0700) && make_dir(made, bundle, "rootfs", 0755) &&
         copy_root_attributes(json_object_get_string(json_object_array_get_idx(r->lower, 0)), made->dirs[0]) && make_volumes(bundle, r->volumes) &&
         write_config(bundle, r);
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

  struct made made = {.dir_count = 0};
  if (add_user(store, bundle, &recipe, &made) && make_bundle(bundle, &recipe, &made)) return 0;
  /* Undone as makeOverlayBundle undoes a failure (the volumes stay), then Node's to do again. */
  while (made.dir_count > 0) rmdir(made.dirs[--made.dir_count]);
  if (*made.record) unlink(made.record);
  hand_to_node(call, "a bundle that could not be made here");
}
