// Internal: the Unicode classes GPT-2's pre-tokenization distinguishes:
// letters (\p{L}), numbers (\p{N}) and whitespace (\s, Unicode's White_Space).
#ifndef DETLLM_SRC_HF_UNICODE_CLASSES_H_
#define DETLLM_SRC_HF_UNICODE_CLASSES_H_

#include <cstddef>
#include <cstdint>

namespace detllm::internal {

struct CodePointRange {
  char32_t first, last;
};
struct CodePointRanges {
  const CodePointRange* ranges;  // sorted, disjoint
  size_t size;
};

// Generated from Unicode data (unicode_classes.cpp, scripts/gen_unicode_tables.py).
extern const CodePointRanges kUnicodeLetters;
extern const CodePointRanges kUnicodeNumbers;
extern const char kUnicodeVersion[];

bool is_letter(char32_t c);
bool is_number(char32_t c);
bool is_whitespace(char32_t c);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_HF_UNICODE_CLASSES_H_
