// A prompt stored in an artifact and read back byte for byte: text, text that
// is not UTF-8 (as base64, through libcrypto), or token ids.
#include "artifacts/prompt_json.h"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

bool valid_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();  // the strict handler throws on a bad byte
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

std::string to_base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(bytes.data()),
                                     static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(length));
  return out;
}

std::string from_base64(const std::string& text, const std::string& where) {
  const auto bad = [&] { throw Error(where + ": field 'text_base64' is not base64"); };
  if (text.size() % 4 != 0) bad();
  std::vector<unsigned char> out(text.size() / 4 * 3 + 1);
  const int length =
      EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                      static_cast<int>(text.size()));
  if (length < 0) bad();
  // EVP_DecodeBlock counts the '=' padding as zero bytes decoded.
  size_t size = static_cast<size_t>(length);
  for (size_t i = text.size(); i > 0 && text[i - 1] == '=' && size > 0; --i) --size;
  return std::string(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(size));
}

}  // namespace

nlohmann::json prompt_json(const Prompt& prompt) {
  if (prompt.has_ids) return {{"token_ids", prompt.token_ids}};
  nlohmann::json stored = {{"text", prompt.text}};
  if (!valid_utf8(prompt.text)) stored["text_base64"] = to_base64(prompt.text);
  return stored;
}

Prompt prompt_from_json(const nlohmann::json& stored, const std::string& where) {
  if (!stored.is_object()) throw Error(where + " must be an object");
  if (stored.contains("token_ids") && !stored["token_ids"].is_null()) {
    const nlohmann::json& ids = stored["token_ids"];
    if (!ids.is_array() || !std::all_of(ids.begin(), ids.end(), [](const nlohmann::json& id) {
          return id.is_number_integer() && id.get<int64_t>() >= 0;
        })) {
      throw Error(where + ": field 'token_ids' must be an array of token ids");
    }
    return Prompt(ids.get<TokenIds>());
  }
  const std::string base64 = string_field(stored, "text_base64", "", where);
  if (!base64.empty()) return Prompt(from_base64(base64, where));
  if (!stored.contains("text") || !stored["text"].is_string()) {
    throw Error(where + " has no 'text', 'text_base64' or 'token_ids'");
  }
  return Prompt(stored["text"].get<std::string>());
}

}  // namespace detllm::internal
