// Internal: UTF-8 as code points, and the string edits the tokenizers share.
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

// `bytes` as valid UTF-8: each maximal invalid subsequence (a byte that starts
// no sequence, or the valid start of a truncated one) becomes one U+FFFD, as
// Rust's String::from_utf8_lossy does (tokenizers' decoders use it).
std::string utf8_lossy(const std::string& bytes);
// `text` with every `from` replaced by `to`, left to right (nothing when `from` is empty).
std::string replace_all(std::string text, const std::string& from, const std::string& to);
// The code point that starts at byte `at` / ends at byte `at` of `text` (as
// decode_utf8 reads it: an invalid byte is U+FFFD of one byte); `at` must be
// inside the text / above 0.
CodePoint code_point_at(const std::string& text, size_t at);
CodePoint code_point_before(const std::string& text, size_t at);
// The UTF-8 bytes of one code point.
std::string encode_utf8(char32_t c);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_HF_UTF8_H_
