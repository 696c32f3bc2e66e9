// SHA-256 through OpenSSL's libcrypto: prompt ids, token-id hashes, file
// digests and the environment fingerprint.
#include "artifacts/sha256.h"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <vector>

#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

// The algorithm, looked up once: OpenSSL 3 fetches it from its provider on
// every EVP_sha256() use otherwise.
const EVP_MD* sha256() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md ? md : EVP_sha256();
#else
  return EVP_sha256();
#endif
}

DigestContext new_context() {
  DigestContext context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!context || EVP_DigestInit_ex(context.get(), sha256(), nullptr) != 1) {
    throw Error("libcrypto cannot compute SHA-256");
  }
  return context;
}

std::string finish(EVP_MD_CTX* context) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context, digest, &length) != 1) {
    throw Error("libcrypto cannot compute SHA-256");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * length, '0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace

std::string sha256_hex(std::string_view text) {
  DigestContext context = new_context();
  EVP_DigestUpdate(context.get(), text.data(), text.size());
  return finish(context.get());
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read '" + path + "' to hash it");
  DigestContext context = new_context();
  std::vector<char> chunk(1 << 20);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    EVP_DigestUpdate(context.get(), chunk.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw Error("cannot read '" + path + "' to hash it");
  return finish(context.get());
}

}  // namespace detllm::internal
