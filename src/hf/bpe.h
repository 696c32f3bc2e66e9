// Internal: what GPT-2's tokenizer and tokenizer.json's BPE share: the
// vocabulary table, byte-pair merges, and GPT-2's byte-level alphabet.
#ifndef DETLLM_SRC_HF_BPE_H_
#define DETLLM_SRC_HF_BPE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace detllm::internal {

// Token <-> id. Ids index `tokens`, so one far beyond the vocabulary's size
// would allocate it for nothing: add() takes only ids below `limit`.
struct Vocabulary {
  std::unordered_map<std::string, int64_t> ids;
  std::vector<std::string> tokens;  // by id; "" where the vocabulary has a gap

  // Throws detllm::Error "<where>: token "t" has id <id>, not an integer in
  // [0, limit)<why>".
  void add(const std::string& token, const nlohmann::json& id, int64_t limit,
           const std::string& where, const std::string& why = "");
  // The token of `id`, or nullptr for an id outside the table or in a gap.
  const std::string* token(int64_t id) const;
};

// GPT-2's 256 printable stand-ins for bytes: printable Latin-1 bytes stand for
// themselves, the others for U+0100 onwards, in byte order ("Ġ" for a space).
struct ByteAlphabet {
  std::string symbol[256];  // UTF-8
  std::unordered_map<char32_t, unsigned char> byte_of;
};
const ByteAlphabet& byte_alphabet();
// A byte-level token's bytes; code points that stand for no byte (an added
// token's text) are kept as they are.
std::string byte_level_text(const std::string& token);

class BpeMerges {
 public:
  // Adds the merge of `left` and `right` with the next rank (best first); the
  // first of duplicates keeps its rank.
  void add(const std::string& left, const std::string& right);
  size_t size() const { return ranks_.size(); }

  // Merges `symbols` in place as tokenizers' BPE does: the adjacent pair of
  // lowest rank first (the leftmost of equal ones), until no pair has a rank.
  // For merges learned in order (a merge's tokens come from earlier merges)
  // this is GPT-2's reference bpe(), which merges every occurrence of the best
  // pair left to right per pass.
  void apply(std::vector<std::string>& symbols) const;

 private:
  int rank(const std::string& left, const std::string& right) const;  // -1: no merge
  static std::string key(const std::string& left, const std::string& right) {
    return left + '\0' + right;  // tokens hold no NUL, so the pair is unambiguous
  }
  std::unordered_map<std::string, int> ranks_;
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_HF_BPE_H_
