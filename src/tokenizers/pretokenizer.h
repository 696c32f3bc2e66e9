// Internal: GPT-2's pre-tokenization, the regular expression
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// written out as a scan over code points (std::regex knows no Unicode classes).
#ifndef DETLLM_SRC_HF_PRETOKENIZER_H_
#define DETLLM_SRC_HF_PRETOKENIZER_H_

#include <string>
#include <vector>

namespace detllm::internal {

// The pieces of `text`, in order; they concatenate to `text`. Bytes that are
// not valid UTF-8 count as symbols (neither letters, numbers nor spaces).
std::vector<std::string> gpt2_pretokenize(const std::string& text);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_HF_PRETOKENIZER_H_
