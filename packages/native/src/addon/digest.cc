// createHash(algorithm): a digest with the OpenSSL Node has, for the image package where the
// addon is loaded already: node:crypto's JavaScript costs a process ~7 ms to load, and a pull
// needs nothing else of it (its blobs hashed as they download, its documents whole).
#include "digest.h"
#include "addon.h"

namespace oci {
namespace {

// update(data) takes a string (as UTF-8) or the bytes a view shows; digest() gives the hex once.
class Hash : public Napi::ObjectWrap<Hash> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Hash", {InstanceMethod("update", &Hash::Update), InstanceMethod("digest", &Hash::Hex)});
  }

  Hash(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Hash>(info), digest_(info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "") {
    if (!digest_.Valid()) Napi::TypeError::New(info.Env(), "createHash: the algorithm must be sha256 or sha512").ThrowAsJavaScriptException();
  }

 private:
  Napi::Value Update(const Napi::CallbackInfo &info) {
    if (info[0].IsString()) {
      std::string text = info[0].As<Napi::String>().Utf8Value();
      digest_.Update(reinterpret_cast<const uint8_t *>(text.data()), text.size());
    } else if (info[0].IsTypedArray()) {
      Napi::TypedArray array = info[0].As<Napi::TypedArray>();
      digest_.Update(static_cast<const uint8_t *>(array.ArrayBuffer().Data()) + array.ByteOffset(), array.ByteLength());
    } else {
      Napi::TypeError::New(info.Env(), "update(data: string | Uint8Array)").ThrowAsJavaScriptException();
    }
    return info.This();
  }

  Napi::Value Hex(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), digest_.Hex()); }

  Digest digest_;
};

// The class is this environment's (Node's main thread or a worker): its reference is the data.
Napi::Value CreateHash(const Napi::CallbackInfo &info) {
  return static_cast<Napi::FunctionReference *>(info.Data())->New({info[0]});
}

}  // namespace

void RegisterDigest(Napi::Env env, Napi::Object exports) {
  auto *constructor = new Napi::FunctionReference(Napi::Persistent(Hash::Define(env)));
  env.AddCleanupHook([constructor]() { delete constructor; });
  exports.Set("createHash", Napi::Function::New(env, CreateHash, "createHash", constructor));
}

}  // namespace oci
