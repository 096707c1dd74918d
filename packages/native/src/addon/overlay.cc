// Overlay mounts that are never attached to any path: fsopen("overlay") + fsconfig + fsmount
// (the new mount API, which Node lacks) give the mount as an fd. Nothing appears in any mount
// table, and when the fd is closed, or the process dies however it dies, the kernel frees the
// mount: a layer applied through it (snapshots/prepare.ts, as `/proc/self/fd/N`) can never leave
// a mount behind.
//
// Unprivileged, the overlay is made in a user namespace of our own (where we are root, so the
// kernel lets us mount an overlay with `userxattr`): a child forked for the purpose unshares one
// with a mount namespace, maps our uid and gid to root there (a process may map its own ids),
// makes the mount and passes its fd back over a socket. The fd works from here as any other: the
// kernel checks what we do through it against our own credentials, and the overlay's against the
// child's, which it keeps.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "addon.h"
#include "fd-message.h"

namespace oci {
namespace {

struct OverlayConfig {
  std::vector<std::string> lower;  // topmost first
  std::string upper, work;
  bool userxattr = false;
  bool index = false;
};

// The kernel explains a refused fsconfig in the fs context's log ("e overlay: ..."), read from the fd.
std::string KernelMessage(int fs) {
  std::string messages;
  char line[512];
  ssize_t n;
  while ((n = read(fs, line, sizeof line - 1)) > 0) {
    std::string text(line, n);
    if (text.size() > 2 && text[1] == ' ') text = text.substr(2);  // "e " / "w " / "i " prefixes
    messages += (messages.empty() ? "" : "; ") + text;
  }
  return messages;
}

// Makes the mount: its fd, or -1 with errno set, *step naming what failed and *fsOut the fs
// context (for its log) when there is one. Allocates nothing, so a forked child may call it.
int MakeOverlay(const OverlayConfig &c, const char **step, const char **detail, int *fsOut) {
  *fsOut = -1;
  *detail = "";
  int fs = static_cast<int>(syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC));
  *step = "fsopen overlay";
  if (fs < 0) return -1;
  *fsOut = fs;
  auto set = [&](const char *key, const char *value, const char *what) {
    *step = what;
    *detail = value;
    return syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, value, 0) == 0;
  };
  for (const std::string &dir : c.lower)
    if (!set("lowerdir+", dir.c_str(), "lowerdir")) return -1;
  if (!c.upper.empty() && !set("upperdir", c.upper.c_str(), "upperdir")) return -1;
  if (!c.work.empty() && !set("workdir", c.work.c_str(), "workdir")) return -1;
  // Snapshots are reused under other stacks: no metacopy-only files whose data would stay
  // behind in a lower layer, and an inode index (which keeps hardlinks whole on copy-up) only
  // while a snapshot is made, in its own workdir.
  if (!set("index", c.index ? "on" : "off", "index")) return -1;
  if (!set("metacopy", "off", "metacopy")) return -1;
  *detail = "";
  *step = "userxattr";
  if (c.userxattr && syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", nullptr, 0) != 0) return -1;
  *step = "create overlay";
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return -1;
  *step = "fsmount overlay";
  int mnt = static_cast<int>(syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  if (mnt < 0) return -1;
  int err = errno;
  close(fs);
  *fsOut = -1;
  errno = err;
  return mnt;
}

bool WriteFile(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  bool ok = fd >= 0 && write(fd, text, strlen(text)) == static_cast<ssize_t>(strlen(text));
  if (fd >= 0) close(fd);
  return ok;
}

// What a child that failed tells its parent.
struct ChildFailure {
  int err;
  char step[64];
};

// The child's side: a user and mount namespace of its own, the mount made there, its fd sent.
[[noreturn]] void MountInChild(const OverlayConfig &c, int sock, const char *uidMap, const char *gidMap) {
  ChildFailure failure = {};
  const char *step = "unshare a user namespace";
  const char *detail = "";
  int fs = -1;
  int mnt = -1;
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0) {
    step = "map our ids in the user namespace";
    if (WriteFile("/proc/self/setgroups", "deny") && WriteFile("/proc/self/uid_map", uidMap) && WriteFile("/proc/self/gid_map", gidMap)) {
      mnt = MakeOverlay(c, &step, &detail, &fs);
    }
  }
  if (mnt >= 0) {
    char byte = 0;
    FdMessage message(&byte, 1);
    message.Attach(mnt);
    _exit(sendmsg(sock, message.header(), 0) == 1 ? 0 : 1);
  }
  failure.err = errno;
  snprintf(failure.step, sizeof failure.step, "%s%s%s", step, *detail ? " " : "", detail);
  ssize_t written = write(sock, &failure, sizeof failure);
  _exit(written == sizeof failure ? 1 : 2);
}

// The parent's side: the fd, or -1 with errno set and *what saying which step failed.
int MountInUserNamespace(const OverlayConfig &c, std::string *what) {
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) {
    *what = "socketpair";
    return -1;
  }
  char uidMap[32], gidMap[32];
  snprintf(uidMap, sizeof uidMap, "0 %u 1", static_cast<unsigned>(geteuid()));
  snprintf(gidMap, sizeof gidMap, "0 %u 1", static_cast<unsigned>(getegid()));
  pid_t child = fork();
  if (child < 0) {
    *what = "fork";
    return -1;
  }
  if (child == 0) MountInChild(c, sockets[1], uidMap, gidMap);
  close(sockets[1]);
  ChildFailure failure = {};
  FdMessage message(&failure, sizeof failure);
  ssize_t received;
  do {
    received = recvmsg(sockets[0], message.header(), MSG_CMSG_CLOEXEC);
  } while (received < 0 && errno == EINTR);
  int err = errno;
  close(sockets[0]);
  int status;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  int fd = received > 0 ? message.ReceivedFd(received) : -1;
  if (fd >= 0) return fd;
  if (received == sizeof failure) {
    *what = failure.step;
    errno = failure.err;
  } else {
    *what = "the child making the overlay";
    errno = received < 0 ? err : EIO;
  }
  return -1;
}

bool ReadConfig(const Napi::Object &options, OverlayConfig *c) {
  Napi::Value lower = options.Get("lower");
  if (!lower.IsArray()) return false;
  Napi::Array array = lower.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) return false;
    c->lower.push_back(item.As<Napi::String>());
  }
  auto optional = [&](const char *key) { return options.Get(key).IsString() ? std::string(options.Get(key).As<Napi::String>()) : std::string(); };
  c->upper = optional("upper");
  c->work = optional("work");
  c->userxattr = options.Get("userxattr").ToBoolean();
  c->index = options.Get("index").ToBoolean();
  return true;
}

// mountOverlay({ lower: string[], upper?, work?, userxattr?, index?, userNamespace? }) → fd of the
// detached mount's root. `lower` is topmost first; each is given on its own ("lowerdir+", Linux
// 6.8), so no page-sized option string limits the number of layers.
Napi::Value MountOverlay(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  OverlayConfig config;
  if (info.Length() != 1 || !info[0].IsObject() || !ReadConfig(info[0].As<Napi::Object>(), &config)) {
    Napi::TypeError::New(env, "mountOverlay({ lower: string[], upper?: string, work?: string, userxattr?: boolean, index?: boolean, userNamespace?: boolean })").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info[0].As<Napi::Object>().Get("userNamespace").ToBoolean()) {
    std::string what;
    int fd = MountInUserNamespace(config, &what);
    if (fd < 0) {
      ErrnoError(env, errno, "mount overlay in a user namespace", what).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, fd);
  }
  const char *step, *detail;
  int fs;
  int fd = MakeOverlay(config, &step, &detail, &fs);
  if (fd < 0) {
    int err = errno;
    std::string message = fs >= 0 ? KernelMessage(fs) : "";
    if (fs >= 0) close(fs);
    std::string what = std::string(step) + (*detail ? std::string(" ") + detail : "") + (message.empty() ? "" : ": " + message);
    ErrnoError(env, err, "fsconfig", what).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

}  // namespace

void RegisterOverlay(Napi::Env env, Napi::Object exports) {
  exports.Set("mountOverlay", Napi::Function::New(env, MountOverlay, "mountOverlay"));
}

}  // namespace oci
