// digest(algorithm, data): the hex digest of small data (a manifest, a config, a chain ID's
// text), for the image package where the addon is loaded already: node:crypto's JavaScript
// costs a process ~7 ms to load, and a command that overlays snapshots needs nothing else of it.
//
// FileDigest(algorithm, fd): the digest of a file as it is appended to, read back from the page
// cache and hashed on a thread of libuv's pool. A download's bytes are written by the main
// thread, which also reads the socket: hashing them there too cost `oci pull` of a 95 MB image
// ~75 ms of that thread, while the machine's other core sat partly idle.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

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

class FileDigest;

// One pass over bytes of the file that the hash has not seen: [from, to).
class HashRange : public Napi::AsyncWorker {
 public:
  HashRange(Napi::Env env, FileDigest *owner, int fd, int64_t from, int64_t to, Digest *digest, std::vector<uint8_t> *buffer)
      : Napi::AsyncWorker(env, "oci:file-digest"), owner_(owner), fd_(fd), from_(from), to_(to), digest_(digest), buffer_(buffer) {}

  void Execute() override {
    while (from_ < to_) {
      ssize_t n = pread(fd_, buffer_->data(), static_cast<size_t>(std::min<int64_t>(buffer_->size(), to_ - from_)), from_);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return SetError(n < 0 ? std::string(strerrorname_np(errno) ?: "EIO") : "the file is shorter than the bytes written to it");
      digest_->Update(buffer_->data(), static_cast<size_t>(n));
      from_ += n;
    }
  }
  void OnOK() override;
  void OnError(const Napi::Error &error) override;

 private:
  FileDigest *owner_;
  int fd_;
  int64_t from_, to_;
  Digest *digest_;
  std::vector<uint8_t> *buffer_;
};

class FileDigest : public Napi::ObjectWrap<FileDigest> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FileDigest", {InstanceMethod("advance", &FileDigest::Advance), InstanceMethod("digest", &FileDigest::Result)});
  }

  explicit FileDigest(const Napi::CallbackInfo &info)
      : Napi::ObjectWrap<FileDigest>(info), digest_(info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "") {
    if (info.Length() != 2 || !info[1].IsNumber() || !digest_.Valid()) {
      Napi::TypeError::New(info.Env(), "new FileDigest(algorithm: 'sha256' | 'sha512', fd: number)").ThrowAsJavaScriptException();
      return;
    }
    fd_ = info[1].As<Napi::Number>().Int32Value();
  }

  // From the pass on the pool, back on this thread.
  void Passed(int64_t to, const std::string &failure) {
    running_ = false;
    hashed_ = to;
    if (!failure.empty()) error_ = failure;
    if (Due()) return Start();
    Unref();
    if (deferred_) Settle();
  }

 private:
  // advance(end): the file holds the bytes up to offset `end`; those not hashed yet are, in the background.
  Napi::Value Advance(const Napi::CallbackInfo &info) {
    if (info.Length() != 1 || !info[0].IsNumber() || deferred_) {
      Napi::TypeError::New(info.Env(), "advance(end: number), before digest()").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    end_ = std::max<int64_t>(end_, info[0].As<Napi::Number>().Int64Value());
    if (!running_ && Due()) {
      Ref();  // kept alive while passes run
      Start();
    }
    return info.Env().Undefined();
  }

  // digest(): the hex digest of the bytes advanced over, once hashed; the same promise every call.
  Napi::Value Result(const Napi::CallbackInfo &info) {
    if (!deferred_) {
      deferred_ = std::make_unique<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(info.Env()));
      // The deferred's own handle to its promise lives only as long as this call's scope.
      promise_ = Napi::Persistent(deferred_->Promise().As<Napi::Object>());
      if (running_) return promise_.Value();
      if (Due()) {
        Ref();
        Start();
      } else {
        Settle();
      }
    }
    return promise_.Value();
  }

  // Whether a pass should run: a batch of bytes is waiting (one pass per write would cost the
  // main thread a wake-up of the pool each time), or the rest, once the digest is asked for.
  bool Due() const { return error_.empty() && end_ > hashed_ && (deferred_ || end_ - hashed_ >= kBatch); }

  void Start() {
    running_ = true;
    if (buffer_.empty()) buffer_.resize(1 << 20);
    (new HashRange(Env(), this, fd_, hashed_, end_, &digest_, &buffer_))->Queue();
  }

  void Settle() {
    Napi::Env env = deferred_->Env();
    if (!error_.empty()) {
      Napi::Error error = Napi::Error::New(env, "hashing the file: " + error_);
      error.Set("code", Napi::String::New(env, error_));
      deferred_->Reject(error.Value());
    } else {
      deferred_->Resolve(Napi::String::New(env, digest_.Hex()));
    }
  }

  static constexpr int64_t kBatch = 1 << 20;
  Digest digest_;
  int fd_ = -1;
  int64_t end_ = 0, hashed_ = 0;
  bool running_ = false;
  std::string error_;
  std::vector<uint8_t> buffer_;
  std::unique_ptr<Napi::Promise::Deferred> deferred_;
  Napi::ObjectReference promise_;
};

void HashRange::OnOK() { owner_->Passed(to_, ""); }
void HashRange::OnError(const Napi::Error &error) { owner_->Passed(from_, error.Message()); }

}  // namespace

void RegisterDigest(Napi::Env env, Napi::Object exports) {
  exports.Set("digest", Napi::Function::New(env, DigestOf, "digest"));
  exports.Set("FileDigest", FileDigest::Define(env));
}

}  // namespace oci
