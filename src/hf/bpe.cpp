#include "hf/bpe.h"

#include <climits>

namespace detllm::internal {

void BpeMerges::add(const std::string& left, const std::string& right) {
  ranks_.emplace(key(left, right), static_cast<int>(ranks_.size()));
}

void BpeMerges::apply(std::vector<std::string>& symbols) const {
  while (symbols.size() > 1) {
    int best = INT_MAX;
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      const auto rank = ranks_.find(key(symbols[i], symbols[i + 1]));
      if (rank != ranks_.end() && rank->second < best) {
        best = rank->second;
        best_at = i;
      }
    }
    if (best == INT_MAX) return;
    const std::string left = symbols[best_at], right = symbols[best_at + 1];
    std::vector<std::string> merged;
    merged.reserve(symbols.size());
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (i >= best_at && i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
        merged.push_back(left + right);
        ++i;
      } else {
        merged.push_back(std::move(symbols[i]));
      }
    }
    symbols = std::move(merged);
  }
}

}  // namespace detllm::internal
