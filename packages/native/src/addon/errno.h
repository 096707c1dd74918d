// Errors shaped like Node's fs errors (code "EPERM", errno, syscall, path), shared by every
// part of the addon.
#pragma once

#include <napi.h>
#include <uv.h>

#include <string>

namespace oci {

inline Napi::Error ErrnoError(Napi::Env env, int err, const char *syscall, const std::string &path = "") {
  std::string message = std::string(uv_err_name(-err)) + ": " + uv_strerror(-err) + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, uv_err_name(-err)));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  return error;
}

// Each part of the addon registers its functions on the exports object.
void RegisterFs(Napi::Env env, Napi::Object exports);
void RegisterXattr(Napi::Env env, Napi::Object exports);
void RegisterResolve(Napi::Env env, Napi::Object exports);
void RegisterProcess(Napi::Env env, Napi::Object exports);
void RegisterTerminal(Napi::Env env, Napi::Object exports);

}  // namespace oci
