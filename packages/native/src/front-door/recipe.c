/*
 * What the front door's two recipes share (unpack.c: the next overlay bundle of an image; run.c:
 * the next run of one): the recipe file, read and checked against the store's index.json and
 * the code that wrote it, and the overlay bundle made from it, as makeOverlayBundle
 * (packages/bundle/src/overlay.ts) makes one: user record, snapshots checked, writable layer,
 * volumes, config.json.
 */
#include "front-door.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* A path that JSON and an overlay's options both carry as it is (overlay.ts refuses ':' and ','). */
bool plain(const char *path) {
  for (const unsigned char *c = (const unsigned char *)path; *c; c++)
    if (*c < 0x20 || *c > 0x7e || strchr("\"\\:,", *c)) return false;
  return true;
}

static void hex_digest(struct sha256_ctx *context, char out[65]) {
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(context, sizeof digest, digest);
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) sprintf(out + 2 * i, "%02x", digest[i]);
}

void sha256_hex(const void *data, size_t length, char out[65]) {
  struct sha256_ctx context;
  sha256_init(&context);
  sha256_update(&context, length, data);
  hex_digest(&context, out);
}

static bool file_digest(const char *path, char out[65]) {
  size_t length;
  char *data = read_small_file(path, &length);
  if (!data) return false;
  sha256_hex(data, length, out);
  free(data);
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

const char *header_string(struct json_object *header, const char *key) {
  struct json_object *value;
  return json_object_object_get_ex(header, key, &value) && json_object_is_type(value, json_type_string) ? json_object_get_string(value) : "";
}

bool read_recipe(const char *path, struct recipe_file *r) {
  size_t length;
  char *text = read_small_file(path, &length);
  char *newline = text ? memchr(text, '\n', length) : NULL;
  if (!newline) return false;
  *newline = '\0';
  r->header = json_tokener_parse(text);
  r->body = newline + 1;
  r->body_length = length - (size_t)(r->body - text);
  return json_object_is_type(r->header, json_type_object);
}

bool overlay_fields(struct json_object *header, const char *store, struct overlay *o) {
  o->chains = strings(header, "chains", is_chain_id);
  o->lower = strings(header, "lower", is_snapshot_dir);
  o->volumes = strings(header, "volumes", is_volume);
  if (!o->chains || !o->lower || !o->volumes || json_object_array_length(o->lower) == 0) return false;
  /* Snapshots named through this --store, as Node would name them now. */
  char prefix[4096];
  int n = snprintf(prefix, sizeof prefix, "%s/snapshots/", store);
  for (size_t i = 0; i < json_object_array_length(o->lower); i++)
    if (n >= (int)sizeof prefix || strncmp(json_object_get_string(json_object_array_get_idx(o->lower, i)), prefix, (size_t)n)) return false;
  return true;
}

bool recipe_current(struct json_object *header, const char *store, const char *const code[], int count) {
  char path[4096], digest[65];
  if (snprintf(path, sizeof path, "%s/index.json", store) >= (int)sizeof path || !file_digest(path, digest) || strcmp(digest, header_string(header, "index")))
    return false;
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 256);
  if (n <= 0) return false;
  path[n] = '\0';
  /* This executable is packages/cli/bin/oci; the commands' bundles are in packages/cli/dist/commands/. */
  char *dir = strrchr(path, '/');
  struct sha256_ctx context;
  sha256_init(&context);
  for (int i = 0; i < count; i++) {
    snprintf(dir, 256, "/../dist/commands/%s", code[i]);
    size_t length;
    char *data = read_small_file(path, &length);
    if (!data) return false;
    sha256_update(&context, length, (const uint8_t *)data);
    free(data);
  }
  hex_digest(&context, digest);
  return !strcmp(digest, header_string(header, "code"));
}

void base36(unsigned long long value, char *out) {
  char digits[32];
  int n = 0;
  do digits[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[value % 36];
  while ((value /= 36));
  while (n) *out++ = digits[--n];
  *out = '\0';
}

bool write_file(const char *path, int flags, mode_t mode, const char *const parts[], const size_t lengths[], int count) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, mode);
  if (fd < 0) return false;
  bool ok = true;
  for (int i = 0; i < count && ok; i++) ok = write_all(fd, parts[i], lengths[i]);
  return close(fd) == 0 && ok;
}

/* users.ts's addUser: snapshots/users/ID, ID the first 32 hex digits of sha256(bundle). */
bool add_user(const char *store, const char *bundle, struct json_object *chains, struct made *made) {
  char users[4000], digest[65], temp[4200];
  snprintf(users, sizeof users, "%s/snapshots/users", store);
  if (mkdir(users, 0777) && errno != EEXIST) return false;
  sha256_hex(bundle, strlen(bundle), digest);
  digest[32] = '\0';
  snprintf(made->record, sizeof made->record, "%s/%s", users, digest);
  snprintf(temp, sizeof temp, "%s.%d", made->record, (int)getpid());
  const char *json = json_object_to_json_string_ext(chains, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
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

/* create.ts's writeConfig: a temp file of this pid renamed over config.json. */
static bool write_config(const char *bundle, const struct config_text *config) {
  char temp[4200], file[4200];
  snprintf(temp, sizeof temp, "%s/.config.json-%d", bundle, (int)getpid());
  snprintf(file, sizeof file, "%s/config.json", bundle);
  if (unlink(temp) && errno != ENOENT) return false;
  if (write_file(temp, O_EXCL, 0644, config->parts, config->lengths, config->count) && rename(temp, file) == 0) return true;
  unlink(temp);
  return false;
}

bool make_bundle(const char *bundle, const struct overlay *o, const struct config_text *config, struct made *made) {
  struct json_object *lower = o->lower;
  for (size_t i = 0; i < json_object_array_length(lower); i++) {
    struct stat st;
    if (stat(json_object_get_string(json_object_array_get_idx(lower, i)), &st) || !S_ISDIR(st.st_mode)) return false;
  }
  return make_dir(made, bundle, "upper", 0755) && make_dir(made, bundle, "work", 0700) && make_dir(made, bundle, "rootfs", 0755) &&
         copy_root_attributes(json_object_get_string(json_object_array_get_idx(lower, 0)), made->dirs[0]) && make_volumes(bundle, o->volumes) &&
         write_config(bundle, config);
}

void undo_bundle(struct made *made) {
  while (made->dir_count > 0) rmdir(made->dirs[--made->dir_count]);
  if (*made->record) unlink(made->record);
}

