// Path resolution confined to a root by the kernel: openat2(2) with RESOLVE_IN_ROOT treats the
// root as "/" for every "..", absolute symlink and absolute path met on the way, so no symlink an
// image planted can lead out of it. The layer applier asks where a directory really is.
#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "errno.h"
#include "path.h"

namespace oci {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// resolveInRoot(root, path) → the absolute path `path` names when `root` is "/"; the path must
// name an existing directory. Magic links (/proc/self/...) are refused. Paths are strings or
// Buffers (bytes), and the result is what `path` is.
Napi::Value ResolveInRoot(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !IsPath(info[0]) || !IsPath(info[1])) {
    Napi::TypeError::New(env, "resolveInRoot(root: string | Buffer, path: string | Buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string root, path;
  if (!PathBytes(info[0], &root) || !PathBytes(info[1], &path)) return env.Undefined();
  Fd rootFd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (rootFd.get() < 0) {
    ErrnoError(env, errno, "open", root).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  struct open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd;
  do {
    fd = static_cast<int>(syscall(SYS_openat2, rootFd.get(), path.c_str(), &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);  // a rename elsewhere raced the lookup: try again
  if (fd < 0) {
    ErrnoError(env, errno, "openat2", path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Fd dir(fd);
  std::string link = "/proc/self/fd/" + std::to_string(dir.get());
  char target[PATH_MAX];
  ssize_t length = readlink(link.c_str(), target, sizeof target);
  if (length < 0 || length == sizeof target) {
    ErrnoError(env, length < 0 ? errno : ENAMETOOLONG, "readlink", link).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return PathResult(env, info[1], target, length);
}

}  // namespace

void RegisterResolve(Napi::Env env, Napi::Object exports) {
  exports.Set("resolveInRoot", Napi::Function::New(env, ResolveInRoot, "resolveInRoot"));
}

}  // namespace oci
