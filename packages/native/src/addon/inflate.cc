// gzip inflating with Intel's ISA-L (igzip) in a thread of the addon's own, which also hashes
// what it inflates (a layer's diff_id, with the OpenSSL Node exports to addons). The benchmark's
// 158 MB layer inflates in 0.23 s where zlib takes 0.55-1.1 s, and unpacking waits on inflating.
// A plain thread rather than a worker_threads worker: a worker is a second V8 isolate that boots
// Node, compiles and optimises its own JavaScript, faults in fresh ArrayBuffers and passes
// messages, which cost as much CPU as ISA-L itself (measured: ~0.4 s per Debian unpack on a
// 2-core machine, where every thread competes with the applier). Nor jobs in libuv's pool: each
// would be queued from the main thread, which the applier keeps busy (tried before this).
//
// The thread runs ahead of JavaScript on its own, bounded by the buffers JavaScript lends it:
// compressed chunks (held by the caller until the thread has consumed them) and output buffers
// (filled in the order given, taken back in that order, then lent again). It tells JavaScript
// that something changed through a thread-safe function; JavaScript then asks what.
// ISA-L is loaded with dlopen when first asked for: the addon (which the runtime needs) loads
// whether or not libisal is installed, and without it the image package inflates with zlib.
#include <dlfcn.h>
#include <isa-l/igzip_lib.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "addon.h"
#include "digest.h"

namespace oci {
namespace {

struct Isal {
  void (*init)(inflate_state *);
  void (*reset)(inflate_state *);
  int (*inflate)(inflate_state *);
};

// Loaded once per process; a lock, since workers may ask at the same time.
const Isal *LoadIsal() {
  static const Isal *loaded = [] {
    static Isal isal;
    void *library = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!library) return static_cast<const Isal *>(nullptr);
    isal.init = reinterpret_cast<void (*)(inflate_state *)>(dlsym(library, "isal_inflate_init"));
    isal.reset = reinterpret_cast<void (*)(inflate_state *)>(dlsym(library, "isal_inflate_reset"));
    isal.inflate = reinterpret_cast<int (*)(inflate_state *)>(dlsym(library, "isal_inflate"));
    return isal.init && isal.reset && isal.inflate ? static_cast<const Isal *>(&isal) : nullptr;
  }();
  return loaded;
}

// zlib's words for the same faults, so that messages read alike whichever inflater ran.
const char *Describe(int code) {
  switch (code) {
    case ISAL_INVALID_BLOCK: return "invalid block type";
    case ISAL_INVALID_SYMBOL: return "invalid code";
    case ISAL_INVALID_LOOKBACK: return "invalid distance too far back";
    case ISAL_INVALID_WRAPPER: return "incorrect header check";
    case ISAL_UNSUPPORTED_METHOD: return "unknown compression method";
    case ISAL_INCORRECT_CHECKSUM: return "incorrect data check";
    case ISAL_NEED_DICT: return "need dictionary";
    default: return "invalid data";
  }
}

// Inflates from s->next_in into s->next_out until one of them is used up, the stream ends or
// nothing moves. Members one after another are one stream, as gzip and Node's zlib read them;
// zero bytes after a member are padding. Returns 0, or ISA-L's error code.
int InflateSome(const Isal *isal, inflate_state *s) {
  for (;;) {
    if (s->block_state == ISAL_BLOCK_FINISH) {
      while (s->avail_in > 0 && *s->next_in == 0) s->next_in++, s->avail_in--;
      if (s->avail_in == 0) return 0;
      isal->reset(s);  // another member follows
      s->crc_flag = ISAL_GZIP;
    }
    uint32_t in_before = s->avail_in, out_before = s->avail_out;
    int code = isal->inflate(s);
    if (code < 0 || code == ISAL_NEED_DICT) return code;
    if (s->block_state == ISAL_BLOCK_FINISH) continue;
    if (s->avail_in == 0 || s->avail_out == 0 || (s->avail_in == in_before && s->avail_out == out_before)) return 0;
  }
}

struct Span {
  uint8_t *data;
  size_t length;
};

// createGunzip(algorithm, onChange): see NativeGunzip in index.ts for the contract.
class Gunzip : public Napi::ObjectWrap<Gunzip> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Gunzip",
                       {InstanceMethod("write", &Gunzip::Write), InstanceMethod("end", &Gunzip::End), InstanceMethod("lend", &Gunzip::Lend),
                        InstanceMethod("take", &Gunzip::Take), InstanceMethod("unconsumed", &Gunzip::Unconsumed), InstanceMethod("digest", &Gunzip::Result),
                        InstanceMethod("close", &Gunzip::Close)});
  }

  Gunzip(const Napi::CallbackInfo &info)
      : Napi::ObjectWrap<Gunzip>(info), isal_(LoadIsal()), algorithm_(info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : ""), digest_(algorithm_) {
    if (!info[1].IsFunction() || (!algorithm_.empty() && !digest_.Valid())) {
      Napi::TypeError::New(info.Env(), "createGunzip(algorithm: 'sha256' | 'sha512' | '', onChange: () => void)").ThrowAsJavaScriptException();
      return;
    }
    told_ = Napi::ThreadSafeFunction::New(info.Env(), info[1].As<Napi::Function>(), "oci:gunzip", 0, 1);
    isal_->init(&state_);
    state_.crc_flag = ISAL_GZIP;
    thread_ = std::thread([this] { Run(); });
  }

  ~Gunzip() override { Stop(); }

 private:
  // write(chunk): compressed bytes, read in place until unconsumed() no longer counts them.
  Napi::Value Write(const Napi::CallbackInfo &info) {
    if (!info[0].IsTypedArray()) return Throw(info.Env(), "write(chunk: Uint8Array)");
    auto chunk = info[0].As<Napi::Uint8Array>();
    std::lock_guard<std::mutex> lock(mutex_);
    inputs_.push_back({chunk.Data(), chunk.ByteLength()});
    changed_.notify_one();
    return info.Env().Undefined();
  }

  // end(): no more input; a stream that is not complete then is truncated.
  Napi::Value End(const Napi::CallbackInfo &info) {
    std::lock_guard<std::mutex> lock(mutex_);
    ended_ = true;
    changed_.notify_one();
    return info.Env().Undefined();
  }

  // lend(buffer): an empty output buffer, filled after those lent before it.
  Napi::Value Lend(const Napi::CallbackInfo &info) {
    if (!info[0].IsTypedArray() || info[0].As<Napi::Uint8Array>().ByteLength() == 0) return Throw(info.Env(), "lend(buffer: Uint8Array)");
    auto buffer = info[0].As<Napi::Uint8Array>();
    std::lock_guard<std::mutex> lock(mutex_);
    empty_.push_back({buffer.Data(), buffer.ByteLength()});
    changed_.notify_one();
    return info.Env().Undefined();
  }

  // take(): the length of the next filled buffer (the oldest lent), -1 when none is ready yet,
  // -2 once the stream is complete and every byte was taken. Throws on corrupt data.
  Napi::Value Take(const Napi::CallbackInfo &info) {
    std::lock_guard<std::mutex> lock(mutex_);
    told_pending_ = false;
    if (!error_.empty()) {
      Napi::Error error = Napi::Error::New(info.Env(), error_);
      error.Set("code", Napi::String::New(info.Env(), "EINFLATE"));
      error.ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    if (!full_.empty()) {
      size_t length = full_.front();
      full_.pop_front();
      return Napi::Number::New(info.Env(), static_cast<double>(length));
    }
    return Napi::Number::New(info.Env(), finished_ ? -2 : -1);
  }

  // unconsumed(): how many of the chunks written are still being read (the newest ones).
  Napi::Value Unconsumed(const Napi::CallbackInfo &info) {
    std::lock_guard<std::mutex> lock(mutex_);
    told_pending_ = false;
    return Napi::Number::New(info.Env(), static_cast<double>(inputs_.size() + (reading_ ? 1 : 0)));
  }

  // digest(): the inflated bytes' digest, hex, once take() returned -2.
  Napi::Value Result(const Napi::CallbackInfo &info) {
    std::lock_guard<std::mutex> lock(mutex_);
    return Napi::String::New(info.Env(), finished_ ? result_ : "");
  }

  // close(): stops the thread (at once, wherever it is) and lets go of every buffer.
  Napi::Value Close(const Napi::CallbackInfo &info) {
    Stop();
    return info.Env().Undefined();
  }

  Napi::Value Throw(Napi::Env env, const char *usage) {
    Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  void Stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      changed_.notify_one();
    }
    thread_.join();
    told_.Release();
  }

  // The thread: input in, output out, until the stream ends, fails, or close() stops it.
  void Run() {
    Span in{nullptr, 0}, out{nullptr, 0};
    size_t filled = 0;
    bool held_back = false;  // the last call filled its output: ISA-L may hold more without input
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (in.length == 0 && reading_) reading_ = false, Tell();
        changed_.wait(lock, [&] { return stopping_ || ((out.data || !empty_.empty()) && (in.length > 0 || !inputs_.empty() || ended_ || held_back)); });
        if (stopping_) return;
        if (!out.data) out = empty_.front(), empty_.pop_front(), filled = 0;
        if (in.length == 0 && !inputs_.empty()) in = inputs_.front(), inputs_.pop_front(), reading_ = true;
      }
      state_.next_in = in.data;
      state_.avail_in = static_cast<uint32_t>(in.length);
      state_.next_out = out.data + filled;
      state_.avail_out = static_cast<uint32_t>(out.length - filled);
      int code = InflateSome(isal_, &state_);
      if (code != 0) return Fail(Describe(code));
      bool moved = state_.avail_in != in.length || out.length - state_.avail_out != filled;
      in = {state_.next_in, state_.avail_in};
      filled = out.length - state_.avail_out;
      if (!moved && in.length > 0 && filled < out.length) return Fail("invalid data");  // never spin
      held_back = state_.avail_out == 0;
      bool input_done = in.length == 0 && !reading_pending();
      bool complete = input_done && !held_back && state_.block_state == ISAL_BLOCK_FINISH;
      if (input_done && !held_back && !complete) return Fail("unexpected end of file");
      if (filled == out.length || (complete && filled > 0)) {
        digest_.Update(out.data, filled);
        Publish(filled);
        out = {nullptr, 0};
      }
      if (complete) return Finish();
    }
  }

  // Whether more input may come: queued chunks, or the caller has not ended yet.
  bool reading_pending() {
    std::lock_guard<std::mutex> lock(mutex_);
    return !inputs_.empty() || !ended_;
  }

  void Publish(size_t length) {
    std::lock_guard<std::mutex> lock(mutex_);
    full_.push_back(length);
    Tell();
  }

  void Finish() {
    std::string hex = algorithm_.empty() ? "" : digest_.Hex();
    std::lock_guard<std::mutex> lock(mutex_);
    result_ = hex.empty() ? "" : algorithm_ + ":" + hex;
    finished_ = true;
    reading_ = false;
    Tell();
  }

  void Fail(const char *why) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = why;
    Tell();
  }

  // Wakes JavaScript once for any number of changes it has not looked at yet (mutex_ held).
  void Tell() {
    if (told_pending_) return;
    told_pending_ = true;
    told_.NonBlockingCall();
  }

  const Isal *isal_;
  inflate_state state_;
  std::string algorithm_;
  Digest digest_;
  Napi::ThreadSafeFunction told_;
  std::thread thread_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Span> inputs_;  // written, not yet being read
  bool reading_ = false;     // the thread is reading a chunk taken off inputs_
  bool ended_ = false;
  std::deque<Span> empty_;  // lent, not yet being filled
  std::deque<size_t> full_;  // lengths of filled buffers, oldest first
  bool finished_ = false;
  std::string result_;
  std::string error_;
  bool stopping_ = false;
  bool told_pending_ = false;
};

// The class is this environment's (Node's main thread or a worker): its reference is the data.
Napi::Value CreateGunzip(const Napi::CallbackInfo &info) {
  if (!LoadIsal()) return info.Env().Null();
  return static_cast<Napi::FunctionReference *>(info.Data())->New({info[0], info[1]});
}

}  // namespace

void RegisterInflate(Napi::Env env, Napi::Object exports) {
  auto *constructor = new Napi::FunctionReference(Napi::Persistent(Gunzip::Define(env)));
  env.AddCleanupHook([constructor]() { delete constructor; });
  exports.Set("createGunzip", Napi::Function::New(env, CreateGunzip, "createGunzip", constructor));
}

}  // namespace oci
