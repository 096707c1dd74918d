// The addon's entry: each concern lives in its own file and registers its functions here.
#include "addon.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  oci::RegisterFs(env, exports);
  oci::RegisterXattr(env, exports);
  oci::RegisterResolve(env, exports);
  oci::RegisterOverlay(env, exports);
  oci::RegisterProcess(env, exports);
  oci::RegisterTerminal(env, exports);
  oci::RegisterBpf(env, exports);
  oci::RegisterSeccomp(env, exports);
  oci::RegisterDigest(env, exports);
#ifdef OCI_WITH_ISAL
  oci::RegisterInflate(env, exports);
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(oci_native, Init)
