// The built-in byte tokenizer, and finding a tokenizer by the id a trace names.
#include "detllm_test/tokenizer.h"

namespace detllm {

TokenIds ByteTokenizer::encode(const std::string& text) const {
  TokenIds ids;
  ids.reserve(text.size());
  for (unsigned char byte : text) ids.push_back(byte);
  return ids;
}

std::string ByteTokenizer::decode(const TokenIds& ids) const {
  std::string text;
  for (int64_t id : ids) {
    if (id >= 0 && id < 256) {
      text += static_cast<char>(id);
    } else {
      text += "<|" + std::to_string(id) + "|>";
    }
  }
  return text;
}

std::shared_ptr<const Tokenizer> byte_tokenizer() {
  static const auto tokenizer = std::make_shared<const ByteTokenizer>();
  return tokenizer;
}

std::shared_ptr<const Tokenizer> find_tokenizer(const std::string& id) {
  if (id == ByteTokenizer::kId) return byte_tokenizer();
  return nullptr;
}

}  // namespace detllm
