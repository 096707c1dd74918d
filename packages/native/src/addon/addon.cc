// The few syscalls Node lacks, for the TypeScript packages. Policy lives in TypeScript:
// every function here does one syscall and reports its errno the way Node's fs does.
#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <string>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace {

// An Error shaped like Node's fs errors: code "EPERM", errno, syscall, path.
Napi::Error ErrnoError(Napi::Env env, int err, const char *syscall, const std::string &path) {
  std::string message = std::string(uv_err_name(-err)) + ": " + uv_strerror(-err) + ", " + syscall + " '" + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, uv_err_name(-err)));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  error.Set("path", Napi::String::New(env, path));
  return error;
}

// mknod(path, mode, major, minor): mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO).
Napi::Value Mknod(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    Napi::TypeError::New(env, "mknod(path: string, mode: number, major: number, minor: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>();
  mode_t mode = info[1].As<Napi::Number>().Uint32Value();
  dev_t dev = makedev(info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().Uint32Value());
  if (mknod(path.c_str(), mode, dev) != 0) {
    ErrnoError(env, errno, "mknod", path).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  return exports;
}

}  // namespace

NODE_API_MODULE(oci_native, Init)
