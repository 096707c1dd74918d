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

#include "addon.h"
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

// Where the kernel says fd is: readlink of /proc/self/fd/N. For a mount that is attached
// nowhere (an overlay made with fsmount), the path is relative to that mount's root.
bool FdPath(int fd, std::string &out) {
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  char target[PATH_MAX];
  ssize_t length = readlink(link.c_str(), target, sizeof target);
  if (length < 0 || length == sizeof target) {
    errno = length < 0 ? errno : ENAMETOOLONG;
    return false;
  }
  out.assign(target, length);
  return true;
}

// resolveInRoot(root, path) → `root` joined with where `path` leads when `root` is "/"; the path
// must name an existing directory. Magic links (/proc/self/...) are refused on the way, but the
// root itself may be one (/proc/self/fd/N of a detached mount): the answer is built from the
// root as given and the part of the kernel's path below the root's own. Paths are strings or
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
  std::string top, target;
  if (!FdPath(rootFd.get(), top) || !FdPath(dir.get(), target)) {
    ErrnoError(env, errno, "readlink", root).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (target == top) return PathResult(env, info[1], root.data(), root.size());
  std::string prefix = top == "/" ? top : top + "/";
  // Below the root, unless a mount moved under our feet: then say so rather than guess.
  if (target.compare(0, prefix.size(), prefix) != 0) {
    ErrnoError(env, EXDEV, "openat2", path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string joined = root + "/" + target.substr(prefix.size());
  return PathResult(env, info[1], joined.data(), joined.size());
}

}  // namespace

void RegisterResolve(Napi::Env env, Napi::Object exports) {
  exports.Set("resolveInRoot", Napi::Function::New(env, ResolveInRoot, "resolveInRoot"));
}

}  // namespace oci
