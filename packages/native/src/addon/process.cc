// Process and fd syscalls Node lacks, for the runtime: a sealed copy of the helper to execute,
// a cheap spawn, pidfds (race-free signals, exit notification on the event loop, reaping), unix
// sockets and fd passing, flock. One syscall (or one idiom) per function.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/un.h>
#include <unordered_map>
#include <vector>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addon.h"
#include "fd-message.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace oci {
namespace {

bool CheckArgs(const Napi::CallbackInfo &info, size_t count, const char *signature) {
  bool ok = info.Length() == count;
  for (size_t i = 0; ok && i < count; i++) {
    char kind = signature[i];
    ok = kind == 's' ? info[i].IsString() : kind == 'f' ? info[i].IsFunction() : kind == 'b' ? info[i].IsBoolean() : info[i].IsNumber();
  }
  if (!ok) Napi::TypeError::New(info.Env(), "bad arguments").ThrowAsJavaScriptException();
  return ok;
}

int IntArg(const Napi::CallbackInfo &info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }

// sealedCopy(path): an fd of a memfd holding the file's bytes, sealed against any change, to be
// executed through /proc/PID/fd/FD. A container that opens /proc/self/exe of its first process
// (CVE-2019-5736) reaches this copy, which cannot be written, and never the file on disk.
Napi::Value SealedCopy(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, "s")) return env.Undefined();
  std::string path = info[0].As<Napi::String>();
  int source = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (source < 0) {
    ErrnoError(env, errno, "open", path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // MFD_EXEC says so explicitly to kernels that have vm.memfd_noexec; older ones reject the flag.
  int memfd = memfd_create("oci-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (memfd < 0 && errno == EINVAL) memfd = memfd_create("oci-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  struct stat st;
  const char *failed = memfd < 0 ? "memfd_create" : fstat(source, &st) < 0 ? "fstat" : nullptr;
  for (off_t done = 0; !failed && done < st.st_size;) {
    ssize_t n = sendfile(memfd, source, &done, st.st_size - done);
    if (n <= 0) failed = "sendfile";
  }
  if (!failed && fcntl(memfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) failed = "fcntl";
  int saved = errno;
  close(source);
  if (failed) {
    if (memfd >= 0) close(memfd);
    ErrnoError(env, saved ? saved : EIO, failed, path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, memfd);
}

// spawn(file, argv, fds): runs file with fds[i] as its fd i, no other fd, and an empty
// environment; returns the pid. posix_spawn (vfork-like) rather than libuv's fork: a fork of Node copies its page
// tables, which costs milliseconds on every container created. Signal dispositions and mask
// are reset, as libuv does, so the container does not inherit Node's SIGPIPE ignore.
Napi::Value Spawn(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsString() || !info[1].IsArray() || !info[2].IsArray()) {
    Napi::TypeError::New(env, "spawn(file: string, argv: string[], fds: number[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string file = info[0].As<Napi::String>();
  Napi::Array argList = info[1].As<Napi::Array>(), fdList = info[2].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < argList.Length(); i++) args.push_back(argList.Get(i).As<Napi::String>());
  std::vector<char *> argv;
  for (auto &arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  char *envp[] = {nullptr};

  // A source fd inside the target range would be overwritten before its own dup2: move it above.
  int count = static_cast<int>(fdList.Length());
  std::vector<int> sources, moved;
  for (int i = 0; i < count; i++) {
    int fd = fdList.Get(i).As<Napi::Number>().Int32Value();
    if (fd != i && fd < count) {
      fd = fcntl(fd, F_DUPFD_CLOEXEC, count);
      if (fd < 0) break;
      moved.push_back(fd);
    }
    sources.push_back(fd);
  }
  int err = static_cast<int>(sources.size()) == count ? 0 : errno;
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  // dup2 onto itself clears close-on-exec (glibc 2.29+): that is how an fd passes at its number.
  for (int i = 0; i < count && !err; i++) err = posix_spawn_file_actions_adddup2(&actions, sources[i], i);
  // Only the fds given: not those Node inherited from its own parent without close-on-exec.
  if (!err) err = posix_spawn_file_actions_addclosefrom_np(&actions, count);
  if (!err) err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (!err) err = posix_spawnattr_setsigmask(&attr, &none);
  if (!err) err = posix_spawnattr_setsigdefault(&attr, &all);
  pid_t pid = -1;
  if (!err) err = posix_spawn(&pid, file.c_str(), &actions, &attr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  for (int fd : moved) close(fd);
  if (err) {
    ErrnoError(env, err, "posix_spawn", file).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, pid);
}

// connectUnix(path): a connected unix stream socket (close-on-exec), e.g. a --console-socket.
Napi::Value ConnectUnix(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, "s")) return env.Undefined();
  std::string path = info[0].As<Napi::String>();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ErrnoError(env, ENAMETOOLONG, "connect", path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<struct sockaddr *>(&addr), sizeof addr) < 0) {
    int saved = errno;
    if (fd >= 0) close(fd);
    ErrnoError(env, saved, "connect", path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// bindAbstract(name): a unix stream socket (close-on-exec) bound to the abstract name (given
// without its leading NUL), or -1 when another socket holds it: a lock the kernel releases
// with its holder (the image store's locks), without node:net's server. The address is the
// whole sun_path, NUL-padded, as libuv binds node:net's '\0name': the same name for both.
Napi::Value BindAbstract(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, "s")) return env.Undefined();
  std::string name = info[0].As<Napi::String>();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (name.size() + 1 > sizeof addr.sun_path) {
    ErrnoError(env, ENAMETOOLONG, "bind", name).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  memcpy(addr.sun_path + 1, name.data(), name.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && bind(fd, reinterpret_cast<struct sockaddr *>(&addr), sizeof addr) == 0) return Napi::Number::New(env, fd);
  int saved = errno;
  if (fd >= 0) close(fd);
  if (saved == EADDRINUSE) return Napi::Number::New(env, -1);
  ErrnoError(env, saved, "bind", name).ThrowAsJavaScriptException();
  return env.Undefined();
}

// pidfdOpen(pid): a pidfd, which keeps naming this process even after its pid is reused.
Napi::Value PidfdOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, "n")) return env.Undefined();
  int fd = static_cast<int>(syscall(SYS_pidfd_open, IntArg(info, 0), 0));
  if (fd < 0) {
    ErrnoError(env, errno, "pidfd_open").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return Napi::Number::New(env, fd);
}

// pidfdSendSignal(pidfd, signal)
Napi::Value PidfdSendSignal(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 2, "nn")) return env.Undefined();
  if (syscall(SYS_pidfd_send_signal, IntArg(info, 0), IntArg(info, 1), nullptr, 0) < 0)
    ErrnoError(env, errno, "pidfd_send_signal").ThrowAsJavaScriptException();
  return env.Undefined();
}

// reap(pidfd): the exit of a child process as { code } or { signal }, or null while it runs.
// Throws ECHILD for a process that is not our child: only its parent can learn how it ended.
Napi::Value Reap(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, "n")) return env.Undefined();
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r;
  do r = waitid(P_PIDFD, IntArg(info, 0), &si, WEXITED | WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r < 0) {
    ErrnoError(env, errno, "waitid").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (si.si_pid == 0) return env.Null();
  Napi::Object result = Napi::Object::New(env);
  if (si.si_code == CLD_EXITED) result.Set("code", si.si_status);
  else result.Set("signal", si.si_status);
  return result;
}

// onReadable(fd, callback[, keepAlive]): calls back once, on the event loop, when the fd is
// readable: data or the end on a socket, the exit of the process of a pidfd. Without Node's net
// module, whose loading costs milliseconds on every `oci` command that talks to a helper or a
// container. Returns a watch id for cancelReadable: a watch left pending keeps the event loop
// alive, unless keepAlive is false (the loop may then end without it ever calling back).
struct ReadableWatch {
  uv_poll_t poll;
  uint32_t id;
  Napi::FunctionReference callback;
  Napi::AsyncContext *context;
};

std::unordered_map<uint32_t, ReadableWatch *> pending_watches;
uint32_t last_watch_id = 0;

void CloseWatch(ReadableWatch *watch) {
  pending_watches.erase(watch->id);
  uv_poll_stop(&watch->poll);
  uv_close(reinterpret_cast<uv_handle_t *>(&watch->poll), [](uv_handle_t *handle) {
    auto *done = static_cast<ReadableWatch *>(handle->data);
    delete done->context;
    delete done;
  });
}

void OnFdReadable(uv_poll_t *poll, int, int) {
  auto *watch = static_cast<ReadableWatch *>(poll->data);
  pending_watches.erase(watch->id);
  uv_poll_stop(poll);
  Napi::Env env = watch->callback.Env();
  {
    Napi::HandleScope scope(env);
    watch->callback.MakeCallback(env.Global(), {}, *watch->context);
  }
  CloseWatch(watch);
}

Napi::Value OnReadable(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  bool hasKeepAlive = info.Length() == 3;
  if (!CheckArgs(info, hasKeepAlive ? 3 : 2, "nfb")) return env.Undefined();
  bool keepAlive = !hasKeepAlive || info[2].As<Napi::Boolean>().Value();
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return env.Undefined();
  auto *watch = new ReadableWatch();
  watch->poll.data = watch;
  int err = uv_poll_init(loop, &watch->poll, IntArg(info, 0));
  if (err == 0) err = uv_poll_start(&watch->poll, UV_READABLE, OnFdReadable);
  if (err != 0) {
    delete watch;
    ErrnoError(env, -err, "uv_poll_start").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!keepAlive) uv_unref(reinterpret_cast<uv_handle_t *>(&watch->poll));
  watch->id = ++last_watch_id;
  watch->callback = Napi::Persistent(info[1].As<Napi::Function>());
  watch->context = new Napi::AsyncContext(env, "oci.onReadable");
  pending_watches[watch->id] = watch;
  return Napi::Number::New(env, watch->id);
}

// cancelReadable(id): stops a pending onReadable watch without calling back; a watch that
// fired already is no longer known, and cancelling it does nothing.
Napi::Value CancelReadable(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, "n")) return env.Undefined();
  auto found = pending_watches.find(info[0].As<Napi::Number>().Uint32Value());
  if (found != pending_watches.end()) CloseWatch(found->second);
  return env.Undefined();
}

// eventfd(): a non-blocking, close-on-exec eventfd (cgroup v1 notifications: OOM).
Napi::Value EventFd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    ErrnoError(env, errno, "eventfd").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// socketpair(): two connected unix stream sockets, close-on-exec.
Napi::Value SocketPair(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
    ErrnoError(env, errno, "socketpair").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, fds[0]);
  pair.Set(1u, fds[1]);
  return pair;
}

// receiveFd(socket): the fd sent with SCM_RIGHTS on a unix socket (already queued: no wait).
Napi::Value ReceiveFd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, "n")) return env.Undefined();
  char data[256];
  FdMessage message(data, sizeof data);
  ssize_t n;
  do n = recvmsg(IntArg(info, 0), message.header(), MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    ErrnoError(env, errno, "recvmsg").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = message.ReceivedFd(n);
  if (fd < 0) {
    ErrnoError(env, EBADMSG, "recvmsg").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// tryLock(fd): an exclusive flock without waiting; false when another holder has it.
Napi::Value TryLock(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!CheckArgs(info, 1, "n")) return env.Undefined();
  int r;
  do r = flock(IntArg(info, 0), LOCK_EX | LOCK_NB);
  while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EWOULDBLOCK) ErrnoError(env, errno, "flock").ThrowAsJavaScriptException();
  return Napi::Boolean::New(env, r == 0);
}

// exitNow(status): _exit(2), without Node's teardown.
Napi::Value ExitNow(const Napi::CallbackInfo &info) {
  _exit(info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1);
}

}  // namespace

void RegisterProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("exitNow", Napi::Function::New(env, ExitNow, "exitNow"));
  exports.Set("sealedCopy", Napi::Function::New(env, SealedCopy, "sealedCopy"));
  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
  exports.Set("connectUnix", Napi::Function::New(env, ConnectUnix, "connectUnix"));
  exports.Set("bindAbstract", Napi::Function::New(env, BindAbstract, "bindAbstract"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal, "pidfdSendSignal"));
  exports.Set("reap", Napi::Function::New(env, Reap, "reap"));
  exports.Set("onReadable", Napi::Function::New(env, OnReadable, "onReadable"));
  exports.Set("cancelReadable", Napi::Function::New(env, CancelReadable, "cancelReadable"));
  exports.Set("eventfd", Napi::Function::New(env, EventFd, "eventfd"));
  exports.Set("socketpair", Napi::Function::New(env, SocketPair, "socketpair"));
  exports.Set("receiveFd", Napi::Function::New(env, ReceiveFd, "receiveFd"));
  exports.Set("tryLock", Napi::Function::New(env, TryLock, "tryLock"));
}

}  // namespace oci
