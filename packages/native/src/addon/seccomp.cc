// seccomp filters compiled by libseccomp (linked statically) into classic BPF, which the helper
// loads with seccomp(2) just before the container's program runs. Compiling here, in the
// runtime's process, keeps the decisions (which rules, which actions, what an unknown syscall
// means) in TypeScript and keeps libseccomp out of the helper, which is copied into a sealed
// memfd for every container. The rules arrive already resolved to libseccomp's numbers.
#include <cerrno>
#include <cstring>
#include <seccomp.h>
#include <linux/seccomp.h>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

#include "addon.h"

namespace oci {
namespace {

Napi::Error CompileError(Napi::Env env, const std::string &what, int rc) {
  // libseccomp returns negative errno values.
  const char *name = strerrorname_np(-rc);
  return Napi::Error::New(env, what + ": " + (name ? name : std::to_string(rc)));
}

uint64_t Datum(Napi::Value value) {
  bool lossless;
  return value.IsBigInt() ? value.As<Napi::BigInt>().Uint64Value(&lossless) : static_cast<uint64_t>(value.As<Napi::Number>().Int64Value());
}

// The filter as BPF: seccomp_export_bpf writes to an fd, so through a memfd.
bool Export(Napi::Env env, scmp_filter_ctx ctx, std::vector<uint8_t> &out) {
  int fd = memfd_create("oci-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    ErrnoError(env, errno, "memfd_create").ThrowAsJavaScriptException();
    return false;
  }
  int rc = seccomp_export_bpf(ctx, fd);
  off_t size = rc == 0 ? lseek(fd, 0, SEEK_END) : -1;
  out.resize(size > 0 ? static_cast<size_t>(size) : 0);
  bool ok = rc == 0 && size >= 0 && pread(fd, out.data(), out.size(), 0) == static_cast<ssize_t>(out.size());
  close(fd);
  if (!ok) CompileError(env, "export the seccomp filter", rc ? rc : -EIO).ThrowAsJavaScriptException();
  return ok;
}

// compileSeccomp(defaultAction, architectures, rules): rules are
// { syscall, action, conditions: [{ index, op, a, b }] } with libseccomp's action and operator
// numbers. Returns { program: Buffer, unknown: string[] }: the BPF, and the syscall names
// libseccomp does not know (their rules are left out; the caller decides whether that is fine).
Napi::Value CompileSeccomp(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsArray() || !info[2].IsArray()) {
    Napi::TypeError::New(env, "compileSeccomp(defaultAction: number, architectures: string[], rules: object[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t defaultAction = info[0].As<Napi::Number>().Uint32Value();
  Napi::Array arches = info[1].As<Napi::Array>();
  Napi::Array rules = info[2].As<Napi::Array>();

  scmp_filter_ctx ctx = seccomp_init(defaultAction);
  if (!ctx) {
    Napi::Error::New(env, "seccomp: libseccomp refused the default action").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto fail = [&](const std::string &what, int rc) {
    seccomp_release(ctx);
    CompileError(env, what, rc).ThrowAsJavaScriptException();
    return env.Undefined();
  };
  // Our loader sets no_new_privs itself when config.json asks for it, never as a side effect.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) return fail("seccomp: clear the no_new_privs attribute", rc);
  // A binary tree rather than a list of comparisons: long profiles (podman's, docker's) cost
  // fewer instructions per syscall. libseccomp <= 2.5.4 misbehaves with it on an empty filter.
  if (rules.Length() > 32) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

  for (uint32_t i = 0; i < arches.Length(); i++) {
    std::string name = arches.Get(i).As<Napi::String>();
    uint32_t token = seccomp_arch_resolve_name(name.c_str());
    if (token == 0) return fail("seccomp: unknown architecture " + name, -EINVAL);
    rc = seccomp_arch_add(ctx, token);
    if (rc < 0 && rc != -EEXIST) return fail("seccomp: add architecture " + name, rc);
  }

  Napi::Array unknown = Napi::Array::New(env);
  for (uint32_t i = 0; i < rules.Length(); i++) {
    Napi::Object rule = rules.Get(i).As<Napi::Object>();
    std::string name = rule.Get("syscall").As<Napi::String>();
    uint32_t action = rule.Get("action").As<Napi::Number>().Uint32Value();
    Napi::Array conditions = rule.Get("conditions").As<Napi::Array>();
    int number = seccomp_syscall_resolve_name(name.c_str());
    if (number == __NR_SCMP_ERROR) {
      unknown.Set(unknown.Length(), Napi::String::New(env, name));
      continue;
    }
    std::vector<scmp_arg_cmp> compare;
    for (uint32_t j = 0; j < conditions.Length(); j++) {
      Napi::Object c = conditions.Get(j).As<Napi::Object>();
      scmp_arg_cmp cmp;
      cmp.arg = c.Get("index").As<Napi::Number>().Uint32Value();
      cmp.op = static_cast<scmp_compare>(c.Get("op").As<Napi::Number>().Uint32Value());
      cmp.datum_a = Datum(c.Get("a"));
      cmp.datum_b = Datum(c.Get("b"));
      compare.push_back(cmp);
    }
    rc = seccomp_rule_add_array(ctx, action, number, static_cast<unsigned>(compare.size()), compare.data());
    if (rc < 0) return fail("seccomp: add the rule for " + name, rc);
  }

  std::vector<uint8_t> program;
  bool exported = Export(env, ctx, program);
  seccomp_release(ctx);
  if (!exported) return env.Undefined();
  Napi::Object result = Napi::Object::New(env);
  result.Set("program", Napi::Buffer<uint8_t>::Copy(env, program.data(), program.size()));
  result.Set("unknown", unknown);
  return result;
}

// Whether the kernel takes a SECCOMP_FILTER_FLAG_* bit: it checks flags before it reads the
// filter, so a NULL filter answers EFAULT for a known flag, EINVAL for an unknown one (the
// probe libseccomp uses). WAIT_KILLABLE_RECV is only valid with NEW_LISTENER.
bool KernelTakesFlag(unsigned long flag) {
  if (flag == 32) flag |= 8;
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, nullptr) < 0 && errno == EFAULT;
}

// seccompInfo(architectures?): libseccomp's version, its API level on this kernel (3 =
// KILL_PROCESS/LOG, 5 = NOTIFY, 6 = NOTIFY's fd flags), which of the given architecture names
// a filter for this machine can hold, and which SECCOMP_FILTER_FLAG_* bits (1 to 32) the kernel takes.
Napi::Value SeccompInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const scmp_version *version = seccomp_version();
  Napi::Object result = Napi::Object::New(env);
  result.Set("version", Napi::String::New(env, std::to_string(version->major) + "." + std::to_string(version->minor) + "." + std::to_string(version->micro)));
  result.Set("api", Napi::Number::New(env, seccomp_api_get()));
  Napi::Array known = Napi::Array::New(env);
  if (info.Length() == 1 && info[0].IsArray()) {
    // Known to libseccomp is not enough: a filter cannot mix byte orders (EDOM), so each is
    // tried in a filter for this machine.
    scmp_filter_ctx scratch = seccomp_init(SCMP_ACT_ALLOW);
    Napi::Array names = info[0].As<Napi::Array>();
    for (uint32_t i = 0; scratch && i < names.Length(); i++) {
      std::string name = names.Get(i).As<Napi::String>();
      uint32_t token = seccomp_arch_resolve_name(name.c_str());
      int rc = token == 0 ? -EINVAL : seccomp_arch_add(scratch, token);
      if (rc == 0 || rc == -EEXIST) known.Set(known.Length(), Napi::String::New(env, name));
    }
    if (scratch) seccomp_release(scratch);
  }
  result.Set("architectures", known);
  uint32_t flags = 0;
  for (unsigned long flag = 1; flag <= 32; flag <<= 1)
    if (KernelTakesFlag(flag)) flags |= static_cast<uint32_t>(flag);
  result.Set("flags", Napi::Number::New(env, flags));
  return result;
}

// seccompSyscalls(architecture, names): the architecture's AUDIT_ARCH value as libseccomp knows
// it (x32 has a token of its own) and each syscall's number there (x32's with their 0x40000000
// bit), or -1 where the architecture has no such syscall or libseccomp does not know it.
Napi::Value SeccompSyscalls(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsArray()) {
    Napi::TypeError::New(env, "seccompSyscalls(architecture: string, names: string[])").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string arch = info[0].As<Napi::String>();
  uint32_t token = seccomp_arch_resolve_name(arch.c_str());
  if (token == 0) {
    Napi::Error::New(env, "seccomp: unknown architecture " + arch).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array names = info[1].As<Napi::Array>();
  Napi::Array numbers = Napi::Array::New(env, names.Length());
  for (uint32_t i = 0; i < names.Length(); i++) {
    std::string name = names.Get(i).As<Napi::String>();
    int number = seccomp_syscall_resolve_name_arch(token, name.c_str());
    numbers.Set(i, Napi::Number::New(env, number < 0 ? -1 : number));
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("token", Napi::Number::New(env, token));
  result.Set("numbers", numbers);
  return result;
}

}  // namespace

void RegisterSeccomp(Napi::Env env, Napi::Object exports) {
  exports.Set("compileSeccomp", Napi::Function::New(env, CompileSeccomp, "compileSeccomp"));
  exports.Set("seccompInfo", Napi::Function::New(env, SeccompInfo, "seccompInfo"));
  exports.Set("seccompSyscalls", Napi::Function::New(env, SeccompSyscalls, "seccompSyscalls"));
}

}  // namespace oci
