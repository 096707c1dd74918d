// Paths from JavaScript: a string (taken as UTF-8) or a Buffer holding the path's bytes, which
// a name that is not UTF-8 needs (the layer applier passes every path so, to keep names exact).
#pragma once

#include <napi.h>

#include <cstring>
#include <string>

namespace oci {

inline bool IsPath(const Napi::Value &value) { return value.IsString() || value.IsBuffer(); }

// The path's bytes; false (a TypeError thrown) for a NUL inside, which would cut it short.
inline bool PathBytes(const Napi::Value &value, std::string *bytes) {
  if (value.IsBuffer()) {
    Napi::Buffer<char> buffer = value.As<Napi::Buffer<char>>();
    bytes->assign(buffer.Data(), buffer.Length());
  } else {
    *bytes = value.As<Napi::String>().Utf8Value();
  }
  if (bytes->find('\0') == std::string::npos) return true;
  Napi::TypeError::New(value.Env(), "a path must not contain NUL").ThrowAsJavaScriptException();
  return false;
}

// The result path in the form the caller gave its own: a Buffer for a Buffer.
inline Napi::Value PathResult(Napi::Env env, const Napi::Value &like, const char *bytes, size_t length) {
  if (like.IsBuffer()) return Napi::Buffer<char>::Copy(env, bytes, length);
  return Napi::String::New(env, bytes, length);
}

}  // namespace oci
