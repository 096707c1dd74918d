// eBPF for cgroup v2 device control: loading a BPF_PROG_TYPE_CGROUP_DEVICE program (which the
// runtime wrote) and attaching it to a cgroup directory. The attachment lasts as long as the
// cgroup: the program needs no fd kept open.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "addon.h"

namespace oci {
namespace {

int Bpf(int cmd, union bpf_attr *attr) { return static_cast<int>(syscall(SYS_bpf, cmd, attr, sizeof *attr)); }

// attachDeviceFilter(cgroupDir, instructions): loads the program and attaches it (alongside
// any others: BPF_F_ALLOW_MULTI, so ancestors' filters still apply).
Napi::Value AttachDeviceFilter(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "attachDeviceFilter(cgroupDir: string, instructions: Buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string dir = info[0].As<Napi::String>();
  Napi::Buffer<uint8_t> insns = info[1].As<Napi::Buffer<uint8_t>>();
  static const char license[] = "Apache-2.0";
  union bpf_attr load;
  memset(&load, 0, sizeof load);
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uint64_t>(insns.Data());
  load.insn_cnt = static_cast<uint32_t>(insns.Length() / sizeof(struct bpf_insn));
  load.license = reinterpret_cast<uint64_t>(license);
  int prog = Bpf(BPF_PROG_LOAD, &load);
  if (prog < 0) {
    ErrnoError(env, errno, "bpf BPF_PROG_LOAD", dir).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int cgroup = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  union bpf_attr attach;
  memset(&attach, 0, sizeof attach);
  attach.target_fd = static_cast<uint32_t>(cgroup);
  attach.attach_bpf_fd = static_cast<uint32_t>(prog);
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  int err = cgroup < 0 || Bpf(BPF_PROG_ATTACH, &attach) < 0 ? errno : 0;
  if (cgroup >= 0) close(cgroup);
  close(prog);
  if (err) ErrnoError(env, err, cgroup < 0 ? "open" : "bpf BPF_PROG_ATTACH", dir).ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

void RegisterBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("attachDeviceFilter", Napi::Function::New(env, AttachDeviceFilter, "attachDeviceFilter"));
}

}  // namespace oci
