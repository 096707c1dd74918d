// SHA-256 and SHA-512 (OpenSSL's, which Node itself exports to addons) whose updates can run in
// libuv's thread pool, so that hashing a download or an inflated layer (1.1-1.4 GB/s, the
// single biggest cost of a pull) overlaps with the main thread's own work instead of adding to it.
#include <openssl/evp.h>

#include <utility>
#include <vector>

#include "hash.h"

namespace oci {

Digest::Digest(const std::string &algorithm) : ctx_(EVP_MD_CTX_new()) {
  const EVP_MD *md = algorithm == "sha256" ? EVP_sha256() : algorithm == "sha512" ? EVP_sha512() : nullptr;
  ok_ = ctx_ != nullptr && md != nullptr && EVP_DigestInit_ex(ctx_, md, nullptr) == 1;
}

Digest::~Digest() { EVP_MD_CTX_free(ctx_); }

void Digest::Update(const uint8_t *data, size_t length) {
  if (ok_ && length > 0) ok_ = EVP_DigestUpdate(ctx_, data, length) == 1;
}

std::string Digest::Hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!ok_ || EVP_DigestFinal_ex(ctx_, md, &length) != 1) return "";
  ok_ = false;  // finished: no more updates
  static const char digits[] = "0123456789abcdef";
  std::string hex(length * 2, '0');
  for (unsigned int i = 0; i < length; i++) {
    hex[2 * i] = digits[md[i] >> 4];
    hex[2 * i + 1] = digits[md[i] & 15];
  }
  return hex;
}

namespace {

struct Span {
  const uint8_t *data;
  size_t length;
};

// new Hash(algorithm): update(buffers, callback) hashes in the thread pool (one at a time; the
// buffers are held until the callback), updateSync(buffer) here, digest() once at the end.
class Hash : public Napi::ObjectWrap<Hash> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Hash", {InstanceMethod("update", &Hash::Update), InstanceMethod("updateSync", &Hash::UpdateSync), InstanceMethod("digest", &Hash::Finish)});
  }

  explicit Hash(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Hash>(info), digest_(info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "") {
    if (!digest_.Ok()) Napi::TypeError::New(info.Env(), "new Hash('sha256' | 'sha512')").ThrowAsJavaScriptException();
  }

  bool busy = false;
  Digest &digest() { return digest_; }

 private:
  Napi::Value Update(const Napi::CallbackInfo &info);

  Napi::Value UpdateSync(const Napi::CallbackInfo &info) {
    if (busy || !info[0].IsTypedArray()) {
      Napi::Error::New(info.Env(), busy ? "hash: an update is in flight" : "updateSync(buffer: Uint8Array)").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    auto bytes = info[0].As<Napi::Uint8Array>();
    digest_.Update(bytes.Data(), bytes.ByteLength());
    return info.Env().Undefined();
  }

  Napi::Value Finish(const Napi::CallbackInfo &info) {
    if (busy) {
      Napi::Error::New(info.Env(), "hash: an update is in flight").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    return Napi::String::New(info.Env(), digest_.Hex());
  }

  Digest digest_;
};

class UpdateWork : public Napi::AsyncWorker {
 public:
  UpdateWork(Napi::Function callback, Hash *hash, Napi::Object self, Napi::Array buffers, std::vector<Span> spans)
      : Napi::AsyncWorker(callback, "oci:hash"), hash_(hash), spans_(std::move(spans)) {
    self_ = Napi::Persistent(self);
    buffers_ = Napi::Persistent(buffers.As<Napi::Object>());  // keeps the bytes alive until OnOK
  }

  void Execute() override {
    for (const Span &span : spans_) hash_->digest().Update(span.data, span.length);
  }

  void OnOK() override {
    hash_->busy = false;
    Callback().Call({Env().Null()});
  }

 private:
  Hash *hash_;
  std::vector<Span> spans_;
  Napi::ObjectReference self_;
  Napi::ObjectReference buffers_;
};

Napi::Value Hash::Update(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsArray() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "update(buffers: Uint8Array[], callback)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (busy) {
    Napi::Error::New(env, "hash: an update is in flight").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto buffers = info[0].As<Napi::Array>();
  std::vector<Span> spans;
  for (uint32_t i = 0; i < buffers.Length(); i++) {
    Napi::Value item = buffers[i];
    if (!item.IsTypedArray()) {
      Napi::TypeError::New(env, "update(buffers: Uint8Array[], callback)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto bytes = item.As<Napi::Uint8Array>();
    spans.push_back({bytes.Data(), bytes.ByteLength()});
  }
  busy = true;
  (new UpdateWork(info[1].As<Napi::Function>(), this, info.This().As<Napi::Object>(), buffers, std::move(spans)))->Queue();
  return env.Undefined();
}

}  // namespace

void RegisterHash(Napi::Env env, Napi::Object exports) { exports.Set("Hash", Hash::Define(env)); }

}  // namespace oci
