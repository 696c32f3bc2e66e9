// Internal: a compiled PCRE2 pattern for tokenizer.json's Split
// pre-tokenizer — Unicode classes and lookahead, JIT-compiled where PCRE2
// can, with match limits so that a hostile pattern fails instead of hanging.
#ifndef DETLLM_SRC_TOKENIZERS_REGEX_H_
#define DETLLM_SRC_TOKENIZERS_REGEX_H_

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

struct pcre2_real_code_8;
struct pcre2_real_match_context_8;

namespace detllm::internal {

// Valid UTF-8 is checked once per text, not once per match (which would make
// splitting quadratic); invalid UTF-8 runs a second compilation that treats
// invalid bytes as barriers.
class Regex {
 public:
  // Throws detllm::Error "<where>: pattern ... does not compile at N: ...".
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Byte ranges [begin, end) of every non-empty match, left to right.
  std::vector<std::pair<size_t, size_t>> find_all(const std::string& text) const;

 private:
  pcre2_real_code_8* valid_ = nullptr;
  pcre2_real_code_8* invalid_ = nullptr;
  pcre2_real_match_context_8* context_ = nullptr;
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_TOKENIZERS_REGEX_H_
