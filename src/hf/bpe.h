// Internal: byte-pair merges, shared by GPT-2's tokenizer and tokenizer.json's BPE.
#ifndef DETLLM_SRC_HF_BPE_H_
#define DETLLM_SRC_HF_BPE_H_

#include <string>
#include <unordered_map>
#include <vector>

namespace detllm::internal {

class BpeMerges {
 public:
  // Adds the merge of `left` and `right` with the next rank (best first); the
  // first of duplicates keeps its rank.
  void add(const std::string& left, const std::string& right);
  size_t size() const { return ranks_.size(); }

  // Merges `symbols` in place as GPT-2's reference bpe() and tokenizers' BPE
  // do: the pair of lowest rank first, every occurrence of it left to right,
  // until no pair has a rank.
  void apply(std::vector<std::string>& symbols) const;

 private:
  static std::string key(const std::string& left, const std::string& right) {
    return left + '\0' + right;  // tokens hold no NUL, so the pair is unambiguous
  }
  std::unordered_map<std::string, int> ranks_;
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_HF_BPE_H_
