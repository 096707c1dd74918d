// A digest with the OpenSSL that Node exports to addons: of what the inflating thread inflates
// (inflate.cc), and for JavaScript (digest.cc).
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>

namespace oci {

class Digest {
 public:
  // "sha256" or "sha512"; any other name makes an invalid digest.
  explicit Digest(const std::string &algorithm) {
    const EVP_MD *md = algorithm == "sha256" ? EVP_sha256() : algorithm == "sha512" ? EVP_sha512() : nullptr;
    if (md && ctx_) ok_ = EVP_DigestInit_ex(ctx_.get(), md, nullptr) == 1;
  }
  bool Valid() const { return ok_; }
  void Update(const uint8_t *data, size_t length) {
    if (ok_ && length > 0) ok_ = EVP_DigestUpdate(ctx_.get(), data, length) == 1;
  }
  // Lower-case hex, once: "" when the digest failed or was taken already.
  std::string Hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    bool ok = ok_ && EVP_DigestFinal_ex(ctx_.get(), md, &length) == 1;
    ok_ = false;
    if (!ok) return "";
    static const char digits[] = "0123456789abcdef";
    std::string hex(length * 2, '0');
    for (unsigned int i = 0; i < length; i++) hex[2 * i] = digits[md[i] >> 4], hex[2 * i + 1] = digits[md[i] & 15];
    return hex;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX *)> ctx_{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  bool ok_ = false;
};

}  // namespace oci
