// Filesystem syscalls Node lacks, for the layer applier and the blob store: one syscall per function, errno
// reported the way Node's fs does. Policy (what to create, where) lives in TypeScript.
#include <cerrno>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "addon.h"
#include "path.h"

namespace oci {
namespace {

// mknod(path, mode, major, minor): mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO).
Napi::Value Mknod(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !IsPath(info[0]) || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    Napi::TypeError::New(env, "mknod(path: string | Buffer, mode: number, major: number, minor: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path;
  if (!PathBytes(info[0], &path)) return env.Undefined();
  mode_t mode = info[1].As<Napi::Number>().Uint32Value();
  dev_t dev = makedev(info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().Uint32Value());
  if (mknod(path.c_str(), mode, dev) != 0) ErrnoError(env, errno, "mknod", path).ThrowAsJavaScriptException();
  return env.Undefined();
}

// detachMount(path): umount2(path, MNT_DETACH): the mount on top at path and every mount under it.
Napi::Value DetachMount(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "detachMount(path: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>();
  if (umount2(path.c_str(), MNT_DETACH) != 0) ErrnoError(env, errno, "umount2", path).ThrowAsJavaScriptException();
  return env.Undefined();
}

// startWriteback(fd, offset, length): sync_file_range(SYNC_FILE_RANGE_WRITE): the disk starts
// writing those dirty pages now, so that a later fdatasync waits only for what came after.
Napi::Value StartWriteback(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "startWriteback(fd: number, offset: number, length: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  off64_t offset = info[1].As<Napi::Number>().Int64Value();
  off64_t length = info[2].As<Napi::Number>().Int64Value();
  if (sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE) != 0) ErrnoError(env, errno, "sync_file_range").ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

void RegisterFs(Napi::Env env, Napi::Object exports) {
  exports.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  exports.Set("detachMount", Napi::Function::New(env, DetachMount, "detachMount"));
  exports.Set("startWriteback", Napi::Function::New(env, StartWriteback, "startWriteback"));
}

}  // namespace oci
