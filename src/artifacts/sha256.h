// Internal: SHA-256 (OpenSSL's libcrypto), for prompt ids, token-id hashes,
// file digests and the environment fingerprint.
#ifndef DETLLM_SRC_ARTIFACTS_SHA256_H_
#define DETLLM_SRC_ARTIFACTS_SHA256_H_

#include <string>
#include <string_view>

namespace detllm::internal {

// SHA-256 hex of `text`.
std::string sha256_hex(std::string_view text);

// SHA-256 hex of a file's contents, read in chunks; throws detllm::Error if it
// cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_ARTIFACTS_SHA256_H_
