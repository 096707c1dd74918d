// Terminal control Node lacks: a raw mode that also stops output processing (Node's setRawMode
// keeps ONLCR, so a container's pty output, already \r\n, would gain a second \r), restoring
// the saved mode, and a pty's window size.
#include <cerrno>
#include <sys/ioctl.h>
#include <termios.h>

#include "addon.h"

namespace oci {
namespace {

bool FdArgs(const Napi::CallbackInfo &info, size_t count) {
  bool ok = info.Length() >= count;
  for (size_t i = 0; ok && i < count; i++) ok = info[i].IsNumber();
  if (!ok) Napi::TypeError::New(info.Env(), "bad arguments").ThrowAsJavaScriptException();
  return ok;
}

// makeRaw(fd): puts the terminal in raw mode (cfmakeraw); returns the previous mode to restore.
Napi::Value MakeRaw(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!FdArgs(info, 1)) return env.Undefined();
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct termios saved, raw;
  if (tcgetattr(fd, &saved) < 0) {
    ErrnoError(env, errno, "tcgetattr").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  raw = saved;
  cfmakeraw(&raw);
  if (tcsetattr(fd, TCSADRAIN, &raw) < 0) {
    ErrnoError(env, errno, "tcsetattr").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Buffer<char>::Copy(env, reinterpret_cast<char *>(&saved), sizeof saved);
}

// restoreTerminal(fd, saved): the mode makeRaw returned.
Napi::Value RestoreTerminal(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!FdArgs(info, 1) || !info[1].IsBuffer() || info[1].As<Napi::Buffer<char>>().Length() != sizeof(struct termios)) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "restoreTerminal(fd, saved: Buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto *saved = reinterpret_cast<struct termios *>(info[1].As<Napi::Buffer<char>>().Data());
  if (tcsetattr(info[0].As<Napi::Number>().Int32Value(), TCSADRAIN, saved) < 0) ErrnoError(env, errno, "tcsetattr").ThrowAsJavaScriptException();
  return env.Undefined();
}

// setWindowSize(fd, rows, columns): TIOCSWINSZ on a terminal (a pty master).
Napi::Value SetWindowSize(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!FdArgs(info, 3)) return env.Undefined();
  struct winsize size = {};
  size.ws_row = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  size.ws_col = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), TIOCSWINSZ, &size) < 0) ErrnoError(env, errno, "ioctl TIOCSWINSZ").ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

void RegisterTerminal(Napi::Env env, Napi::Object exports) {
  exports.Set("makeRaw", Napi::Function::New(env, MakeRaw, "makeRaw"));
  exports.Set("restoreTerminal", Napi::Function::New(env, RestoreTerminal, "restoreTerminal"));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize, "setWindowSize"));
}

}  // namespace oci
