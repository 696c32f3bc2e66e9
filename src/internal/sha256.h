// Internal: SHA-256, for prompt ids, token-id hashes, file digests and the
// environment fingerprint. Self-contained because the GPU machines we build on
// have no OpenSSL headers; checked against the FIPS 180-4 test vectors.
#ifndef DETLLM_SRC_INTERNAL_SHA256_H_
#define DETLLM_SRC_INTERNAL_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace detllm::internal {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(const std::string& text) { update(text.data(), text.size()); }
  std::string hex_digest();  // finishes the hash

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// SHA-256 hex of `text`.
std::string sha256_hex(const std::string& text);

// SHA-256 hex of a file's contents; throws detllm::Error if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_INTERNAL_SHA256_H_
