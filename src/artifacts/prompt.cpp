// Prompt ids: the SHA-256 of a prompt's text, or of its token ids as JSON.
#include "detllm_test/prompt.h"

#include <nlohmann/json.hpp>

#include "artifacts/sha256.h"

namespace detllm {

std::string prompt_id(const Prompt& prompt) {
  if (prompt.has_ids) return internal::sha256_hex(nlohmann::json(prompt.token_ids).dump());
  return internal::sha256_hex(prompt.text);
}

}  // namespace detllm
