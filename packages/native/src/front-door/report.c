/*
 * What leaves this program: the hand-off to Node, stdout, and errors as the CLI prints them
 * (cli/src/main.ts report(), log.ts, one-line.ts): one line on stderr, `oci: COMMAND ID: MESSAGE`
 * with control characters escaped, and with --log the same message as a log line in runc's shape
 * (with --log-format json and no --log, that JSON line on stderr instead).
 * Strings are read as JavaScript reads UTF-8 (a bad sequence is U+FFFD) and quoted as
 * JSON.stringify quotes them, so the bytes match Node's. Beside them, the two helpers every verb
 * shares: a small file read whole, a path made absolute as Node would.
 */
#include "front-door.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

noreturn void hand_to_node(const struct call *call, const char *why) {
  if (call->begun) fail(call, why);
  const char *native_only = getenv("OCI_NATIVE_ONLY");
  if (native_only && *native_only) {
    /* Tests ask for this to prove a case is served here. */
    fprintf(stderr, "oci: the front door hands this call to Node: %s\n", why);
    exit(125);
  }
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - sizeof "/oci.cjs");
  if (n <= 0) {
    perror("oci: readlink /proc/self/exe");
    exit(127);
  }
  self[n] = '\0';
  strcpy(strrchr(self, '/'), "/oci.cjs");
  /* As bin/oci.cjs's sh prologue does: Node would parse that CA bundle at start (~80 ms); the
     entry puts it back for the registry client. */
  const char *ca = getenv("NODE_EXTRA_CA_CERTS");
  if (ca && *ca) {
    setenv("OCI_NODE_EXTRA_CA_CERTS", ca, 1);
    unsetenv("NODE_EXTRA_CA_CERTS");
  }
  char **args = calloc((size_t)call->argc + 2, sizeof *args);
  if (!args) exit(127);
  args[0] = "node";
  args[1] = self;
  for (int i = 1; i < call->argc; i++) args[i + 1] = call->argv[i];
  execvp("node", args);
  fprintf(stderr, "oci: node: %s\n", strerror(errno));
  exit(127);
}

/* The next code point of s[*at..length), as TextDecoder reads it: U+FFFD for each maximal bad subpart. */
static unsigned next_code_point(const unsigned char *s, size_t length, size_t *at) {
  unsigned c = s[(*at)++];
  if (c < 0x80) return c;
  int more;
  unsigned low = 0x80, high = 0xBF, point;
  if (c >= 0xC2 && c <= 0xDF) more = 1, point = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) more = 2, point = c & 0x0F, low = c == 0xE0 ? 0xA0 : 0x80, high = c == 0xED ? 0x9F : 0xBF;
  else if (c >= 0xF0 && c <= 0xF4) more = 3, point = c & 0x07, low = c == 0xF0 ? 0x90 : 0x80, high = c == 0xF4 ? 0x8F : 0xBF;
  else return 0xFFFD;
  for (; more > 0; more--, low = 0x80, high = 0xBF) {
    if (*at >= length || s[*at] < low || s[*at] > high) return 0xFFFD;
    point = (point << 6) | (s[(*at)++] & 0x3F);
  }
  return point;
}

bool is_utf8(const char *text, size_t length) {
  for (size_t at = 0; at < length;) {
    size_t from = at;
    if (next_code_point((const unsigned char *)text, length, &at) == 0xFFFD && (at - from != 3 || memcmp(text + from, "\xEF\xBF\xBD", 3))) return false;
  }
  return true;
}

static size_t put_utf8(char *out, unsigned point) {
  if (point < 0x80) return out[0] = (char)point, 1;
  if (point < 0x800) return out[0] = (char)(0xC0 | point >> 6), out[1] = (char)(0x80 | (point & 0x3F)), 2;
  if (point < 0x10000)
    return out[0] = (char)(0xE0 | point >> 12), out[1] = (char)(0x80 | ((point >> 6) & 0x3F)), out[2] = (char)(0x80 | (point & 0x3F)), 3;
  out[0] = (char)(0xF0 | point >> 18), out[1] = (char)(0x80 | ((point >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((point >> 6) & 0x3F)), out[3] = (char)(0x80 | (point & 0x3F));
  return 4;
}

size_t json_quote(char *out, const char *text, size_t length) {
  size_t n = 0;
  out[n++] = '"';
  for (size_t at = 0; at < length;) {
    unsigned c = next_code_point((const unsigned char *)text, length, &at);
    const char *named = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\f' ? "\\f" : c == '\r' ? "\\r" : NULL;
    if (named) n += (size_t)sprintf(out + n, "%s", named);
    else if (c < 0x20) n += (size_t)sprintf(out + n, "\\u%04x", c);
    else n += put_utf8(out + n, c);
  }
  out[n++] = '"';
  out[n] = '\0';
  return n;
}

/* oneLine(): control characters and the Unicode line separators as escapes. */
static size_t one_line(char *out, const char *text, size_t length) {
  size_t n = 0;
  for (size_t at = 0; at < length;) {
    unsigned c = next_code_point((const unsigned char *)text, length, &at);
    if (c == '\n' || c == '\r' || c == '\t') n += (size_t)sprintf(out + n, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
    else if (c <= 0x1F || (c >= 0x7F && c <= 0x9F)) n += (size_t)sprintf(out + n, "\\x%02x", c);
    else if (c == 0x2028 || c == 0x2029) n += (size_t)sprintf(out + n, "\\u%x", c);
    else n += put_utf8(out + n, c);
  }
  out[n] = '\0';
  return n;
}

bool write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0 && errno == EAGAIN) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      poll(&p, 1, -1);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    length -= (size_t)n;
  }
  return true;
}

void open_log(const struct call *call) {
  if (!call->log_file) return;
  int fd = open(call->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  /* Node warns on stderr and logs there instead. */
  if (fd < 0) hand_to_node(call, "a log file that cannot be opened");
  close(fd);
}

void iso_time(char out[32]) {
  struct timespec now;
  struct tm utc;
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &utc);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(out + n, 32 - n, ".%03ldZ", now.tv_nsec / 1000000);
}

/* A log line in runc's shape: JSON, or logfmt (log.ts). */
static char *log_line(const struct call *call, const char *message) {
  size_t length = strlen(message);
  char time[32], *quoted = malloc(6 * length + 3), *line = malloc(6 * length + 128);
  if (!quoted || !line) exit(1);
  iso_time(time);
  json_quote(quoted, message, length);
  if (call->log_json) sprintf(line, "{\"level\":\"error\",\"msg\":%s,\"time\":\"%s\"}\n", quoted, time);
  else sprintf(line, "time=\"%s\" level=error msg=%s\n", time, quoted);
  free(quoted);
  return line;
}

/* Logger.failure(): the message to the log file, and the line naming the command to stderr
   (as text, or as a JSON line when --log-format json has no file). */
noreturn void fail(const struct call *call, const char *message) {
  char *line = malloc(strlen(call->command) + strlen(call->id) + strlen(message) + 8);
  if (!line) exit(1);
  sprintf(line, "%s %s: %s", call->command, call->id, message);
  if (call->log_file) {
    char *entry = log_line(call, message);
    int fd = open(call->log_file, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0) write_all(fd, entry, strlen(entry)), close(fd);
  } else if (call->log_json) {
    char *entry = log_line(call, line);
    write_all(2, entry, strlen(entry));
    exit(1);
  }
  size_t length = strlen(line) + 5;
  char *prefixed = malloc(length + 1), *escaped = malloc(4 * length + 2);
  if (!prefixed || !escaped) exit(1);
  sprintf(prefixed, "oci: %s", line);
  size_t n = one_line(escaped, prefixed, length);
  escaped[n++] = '\n';
  write_all(2, escaped, n);
  exit(1);
}

char *read_small_file(const char *path, size_t *length) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t size = 0, capacity = 4096;
  char *data = malloc(capacity + 1);
  for (;;) {
    if (!data) return close(fd), errno = ENOMEM, NULL;
    ssize_t n = read(fd, data + size, capacity - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      free(data), close(fd);
      errno = error;
      return NULL;
    }
    if (n == 0) break;
    size += (size_t)n;
    if (size == capacity) data = realloc(data, (capacity *= 2) + 1);
  }
  close(fd);
  data[size] = '\0';
  if (length) *length = size;
  return data;
}

/* path.resolve() of a path that needs no normalising; NULL for one that does (Node's case). */
char *resolved(const char *path) {
  if (!*path || strstr(path, "//") || strstr(path, "/./") || strstr(path, "/../") || !strcmp(path, ".") || !strcmp(path, "..") ||
      !strncmp(path, "./", 2) || !strncmp(path, "../", 3))
    return NULL;
  size_t n = strlen(path);
  if (path[n - 1] == '/' || (n >= 2 && !strcmp(path + n - 2, "/.")) || (n >= 3 && !strcmp(path + n - 3, "/..")))
    return NULL;
  if (path[0] == '/') return strdup(path);
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd) || !strcmp(cwd, "/")) return NULL;
  char *out = malloc(strlen(cwd) + n + 2);
  if (out) sprintf(out, "%s/%s", cwd, path);
  return out;
}
