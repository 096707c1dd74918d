// Overlay mounts that are never attached to any path: fsopen("overlay") + fsconfig + fsmount
// (the new mount API, which Node lacks) give the mount as an fd. Nothing appears in any mount
// table, and when the fd is closed, or the process dies however it dies, the kernel frees the
// mount: a layer applied through it (snapshots/prepare.ts, as `/proc/self/fd/N`) can never leave
// a mount behind.
#include <cerrno>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "errno.h"

namespace oci {
namespace {

// The kernel explains a refused fsconfig in the fs context's log ("e overlay: ..."), read from the fd.
std::string KernelMessage(int fs) {
  std::string messages;
  char line[512];
  ssize_t n;
  while ((n = read(fs, line, sizeof line - 1)) > 0) {
    line[n] = '\0';
    std::string text(line, n);
    if (text.size() > 2 && text[1] == ' ') text = text.substr(2);  // "e " / "w " / "i " prefixes
    messages += (messages.empty() ? "" : "; ") + text;
  }
  return messages;
}

Napi::Value Fail(Napi::Env env, int err, int fs, const std::string &what) {
  std::string detail = fs >= 0 ? KernelMessage(fs) : "";
  if (fs >= 0) close(fs);
  ErrnoError(env, err, "fsconfig", detail.empty() ? what : what + ": " + detail).ThrowAsJavaScriptException();
  return env.Undefined();
}

// mountOverlay({ lower: string[], upper?, work?, userxattr?, index? }) → fd of the detached mount's root.
// `lower` is topmost first, as in lowerdir=; each is given on its own ("lowerdir+", Linux 6.8),
// so no page-sized option string limits the number of layers.
Napi::Value MountOverlay(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "mountOverlay({ lower: string[], upper?: string, work?: string, userxattr?: boolean, index?: boolean })").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object options = info[0].As<Napi::Object>();
  Napi::Value lowerValue = options.Get("lower");
  if (!lowerValue.IsArray()) {
    Napi::TypeError::New(env, "mountOverlay: lower must be an array of paths").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array lowerArray = lowerValue.As<Napi::Array>();
  std::vector<std::string> lower;
  for (uint32_t i = 0; i < lowerArray.Length(); i++) {
    Napi::Value item = lowerArray.Get(i);
    if (!item.IsString()) {
      Napi::TypeError::New(env, "mountOverlay: lower must be an array of paths").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    lower.push_back(item.As<Napi::String>());
  }
  auto optional = [&](const char *key) { return options.Get(key).IsString() ? std::string(options.Get(key).As<Napi::String>()) : std::string(); };
  std::string upper = optional("upper");
  std::string work = optional("work");
  bool userxattr = options.Get("userxattr").ToBoolean();
  bool index = options.Get("index").ToBoolean();

  int fs = static_cast<int>(syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC));
  if (fs < 0) return Fail(env, errno, -1, "fsopen overlay");
  auto set = [&](const char *key, const std::string &value) {
    return syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, value.c_str(), 0) == 0;
  };
  for (const std::string &dir : lower) {
    if (!set("lowerdir+", dir)) return Fail(env, errno, fs, "lowerdir " + dir);
  }
  if (!upper.empty() && !set("upperdir", upper)) return Fail(env, errno, fs, "upperdir " + upper);
  if (!work.empty() && !set("workdir", work)) return Fail(env, errno, fs, "workdir " + work);
  // Snapshots are reused under other stacks: no metacopy-only files whose data would stay
  // behind in a lower layer, and an inode index (which keeps hardlinks whole on copy-up) only
  // while a snapshot is made, in its own workdir.
  if (!set("index", index ? "on" : "off")) return Fail(env, errno, fs, index ? "index=on" : "index=off");
  if (!set("metacopy", "off")) return Fail(env, errno, fs, "metacopy=off");
  if (userxattr && syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", nullptr, 0) != 0) return Fail(env, errno, fs, "userxattr");
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return Fail(env, errno, fs, "create overlay");
  int mnt = static_cast<int>(syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  int err = errno;
  close(fs);
  if (mnt < 0) {
    ErrnoError(env, err, "fsmount", "overlay").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, mnt);
}

}  // namespace

void RegisterOverlay(Napi::Env env, Napi::Object exports) {
  exports.Set("mountOverlay", Napi::Function::New(env, MountOverlay, "mountOverlay"));
}

}  // namespace oci
