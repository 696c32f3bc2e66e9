// Internal: UTF-8 as code points, for the tokenizers.
#ifndef DETLLM_SRC_HF_UTF8_H_
#define DETLLM_SRC_HF_UTF8_H_

#include <cstddef>
#include <string>
#include <vector>

namespace detllm::internal {

struct CodePoint {
  char32_t value;
  size_t begin, end;  // byte range in the text
};

// Decodes UTF-8; a byte that starts no valid sequence becomes U+FFFD (a symbol)
// covering that one byte, so every byte of the text stays in some piece.
std::vector<CodePoint> decode_utf8(const std::string& text);

// The UTF-8 bytes of one code point.
std::string encode_utf8(char32_t c);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_HF_UTF8_H_
