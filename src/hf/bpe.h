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
