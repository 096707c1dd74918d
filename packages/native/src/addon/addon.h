// What every part of the addon shares: errors shaped like Node's fs errors (code "EPERM",
// errno, syscall, path), and each part's registration on the exports object.
#pragma once

#include <napi.h>
#include <uv.h>

#include <cstring>
#include <string>

namespace oci {

// glibc names every errno (libuv's table lacks some the runtime meets, such as ECHILD).
inline Napi::Error ErrnoError(Napi::Env env, int err, const char *syscall, const std::string &path = "") {
  const char *name = strerrorname_np(err);
  std::string code = name ? name : uv_err_name(-err);
  std::string message = code + ": " + uv_strerror(-err) + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  return error;
}

// Each part of the addon registers its functions on the exports object.
void RegisterFs(Napi::Env env, Napi::Object exports);
void RegisterXattr(Napi::Env env, Napi::Object exports);
void RegisterResolve(Napi::Env env, Napi::Object exports);
void RegisterOverlay(Napi::Env env, Napi::Object exports);
void RegisterProcess(Napi::Env env, Napi::Object exports);
void RegisterTerminal(Napi::Env env, Napi::Object exports);
void RegisterBpf(Napi::Env env, Napi::Object exports);
void RegisterSeccomp(Napi::Env env, Napi::Object exports);
void RegisterInflate(Napi::Env env, Napi::Object exports);
void RegisterDigest(Napi::Env env, Napi::Object exports);

}  // namespace oci
