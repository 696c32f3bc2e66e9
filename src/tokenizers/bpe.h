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
// would allocate it for nothing (2^24 empty strings are 450 MB): ids stay below
// the file's whole entry count plus room for gaps. The count is the file's, not
// the entries read so far: a JSON object is read in key order, not id order,
// so a real 150,000-token vocabulary reaches id 70,900 after a few entries.
struct Vocabulary {
  // `entries`: every token the file gives an id (vocabulary and added tokens).
  explicit Vocabulary(size_t entries = 0);

  std::unordered_map<std::string, int64_t> ids;
  std::vector<std::string> tokens;  // by id; "" where the vocabulary has a gap

  // Throws detllm::Error "<where>: token "t" has id <id>, not an integer in
  // [0, limit) (the file's N entries plus 65536)".
  void add(const std::string& token, const nlohmann::json& id, const std::string& where);
  // The token of `id`, or nullptr for an id outside the table or in a gap.
  const std::string* token(int64_t id) const;

 private:
  size_t entries_;
  int64_t limit_;
};

// GPT-2's 256 printable stand-ins for bytes: printable Latin-1 bytes stand for
// themselves, the others for U+0100 onwards, in byte order ("Ġ" for a space).
struct ByteAlphabet {
  std::string symbol[256];  // UTF-8
  std::unordered_map<char32_t, unsigned char> byte_of;
};
const ByteAlphabet& byte_alphabet();

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
