// Extended attributes, never following a final symlink (the l* calls): the layer applier sets
// them from PAX SCHILY.xattr records, security.capability included; tests read them back.
#include <cerrno>
#include <sys/xattr.h>

#include <string>
#include <vector>

#include "addon.h"
#include "path.h"

namespace oci {
namespace {

// (path: string | Buffer, then `count` - 1 strings or Buffers)
bool IsPathCall(const Napi::CallbackInfo &info, size_t count) {
  if (info.Length() != count || !IsPath(info[0])) return false;
  for (size_t i = 1; i < count; i++) {
    if (!info[i].IsString() && !info[i].IsBuffer()) return false;
  }
  return true;
}

// lsetxattr(path, name, value: Buffer)
Napi::Value Lsetxattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!IsPathCall(info, 3) || !info[1].IsString() || !info[2].IsBuffer()) {
    Napi::TypeError::New(env, "lsetxattr(path: string | Buffer, name: string, value: Buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path;
  if (!PathBytes(info[0], &path)) return env.Undefined();
  std::string name = info[1].As<Napi::String>();
  Napi::Buffer<char> value = info[2].As<Napi::Buffer<char>>();
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), 0) != 0) {
    ErrnoError(env, errno, "lsetxattr", path).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// lgetxattr(path, name) → Buffer
Napi::Value Lgetxattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!IsPathCall(info, 2)) {
    Napi::TypeError::New(env, "lgetxattr(path: string | Buffer, name: string)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path;
  if (!PathBytes(info[0], &path)) return env.Undefined();
  std::string name = info[1].As<Napi::String>();
  for (;;) {
    ssize_t size = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (size < 0) break;
    std::vector<char> value(size);
    ssize_t got = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (got >= 0) return Napi::Buffer<char>::Copy(env, value.data(), got);
    if (errno != ERANGE) break;  // grew between the two calls: ask again
  }
  ErrnoError(env, errno, "lgetxattr", path).ThrowAsJavaScriptException();
  return env.Undefined();
}

// llistxattr(path) → string[]
Napi::Value Llistxattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!IsPathCall(info, 1)) {
    Napi::TypeError::New(env, "llistxattr(path: string | Buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path;
  if (!PathBytes(info[0], &path)) return env.Undefined();
  for (;;) {
    ssize_t size = llistxattr(path.c_str(), nullptr, 0);
    if (size < 0) break;
    std::vector<char> names(size);
    ssize_t got = llistxattr(path.c_str(), names.data(), names.size());
    if (got < 0 && errno == ERANGE) continue;
    if (got < 0) break;
    Napi::Array result = Napi::Array::New(env);
    for (ssize_t at = 0; at < got;) {
      std::string name(names.data() + at);
      result.Set(result.Length(), Napi::String::New(env, name));
      at += name.size() + 1;
    }
    return result;
  }
  ErrnoError(env, errno, "llistxattr", path).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

void RegisterXattr(Napi::Env env, Napi::Object exports) {
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr, "lsetxattr"));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr, "lgetxattr"));
  exports.Set("llistxattr", Napi::Function::New(env, Llistxattr, "llistxattr"));
}

}  // namespace oci
