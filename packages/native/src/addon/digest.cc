// digest(algorithm, data): the hex digest of small data (a manifest, a config, a chain ID's
// text), for the image package where the addon is loaded already: node:crypto's JavaScript
// costs a process ~7 ms to load, and a command that overlays snapshots needs nothing else of it.
#include "digest.h"
#include "addon.h"

namespace oci {
namespace {

Napi::Value DigestOf(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !(info[1].IsString() || info[1].IsTypedArray())) {
    Napi::TypeError::New(env, "digest(algorithm: 'sha256' | 'sha512', data: string | Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Digest digest(info[0].As<Napi::String>().Utf8Value());
  if (!digest.Valid()) {
    Napi::TypeError::New(env, "digest: the algorithm must be sha256 or sha512").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info[1].IsString()) {
    std::string text = info[1].As<Napi::String>().Utf8Value();
    digest.Update(reinterpret_cast<const uint8_t *>(text.data()), text.size());
  } else {
    Napi::TypedArray array = info[1].As<Napi::TypedArray>();
    const uint8_t *data = static_cast<const uint8_t *>(array.ArrayBuffer().Data()) + array.ByteOffset();
    digest.Update(data, array.ByteLength());
  }
  return Napi::String::New(env, digest.Hex());
}

}  // namespace

void RegisterDigest(Napi::Env env, Napi::Object exports) { exports.Set("digest", Napi::Function::New(env, DigestOf, "digest")); }

}  // namespace oci
