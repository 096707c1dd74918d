// A running SHA-256 or SHA-512, shared by the addon's parts that hash what passes through them.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "errno.h"

namespace oci {

class Digest {
 public:
  explicit Digest(const std::string &algorithm);
  ~Digest();
  Digest(const Digest &) = delete;
  Digest &operator=(const Digest &) = delete;

  bool Ok() const { return ok_; }
  void Update(const uint8_t *data, size_t length);
  // The digest in lower-case hex; "" if an update failed. Once: it finishes the hash.
  std::string Hex();

 private:
  EVP_MD_CTX *ctx_;
  bool ok_;
};

}  // namespace oci
