// What GPT-2's tokenizer and tokenizer.json's BPE share: the vocabulary table
// (ids bounded by the file's size), byte-pair merges by rank, the byte alphabet.
#include "tokenizers/bpe.h"

#include <algorithm>
#include <queue>
#include <tuple>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"
#include "tokenizers/utf8.h"

namespace detllm::internal {

namespace {
constexpr int64_t kMaxIdsBeyondEntries = 65536;  // gaps: as GPT-2's vocabulary allows
constexpr int64_t kMaxId = int64_t{1} << 24;     // far above any real vocabulary
}  // namespace

Vocabulary::Vocabulary(size_t entries)
    : entries_(entries),
      limit_(std::min<int64_t>(kMaxId, static_cast<int64_t>(std::min<size_t>(entries, kMaxId)) +
                                           kMaxIdsBeyondEntries)) {}

void Vocabulary::add(const std::string& token, const nlohmann::json& id, const std::string& where) {
  if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= limit_) {
    throw Error(where + ": token " + quote_text(token) + " has id " + id.dump() +
                ", not an integer in [0, " + std::to_string(limit_) + ") (the file's " +
                std::to_string(entries_) + " entries plus " + std::to_string(kMaxIdsBeyondEntries) +
                ")");
  }
  const auto index = static_cast<size_t>(id.get<int64_t>());
  ids[token] = id.get<int64_t>();
  if (tokens.size() <= index) tokens.resize(index + 1);
  tokens[index] = token;
}

const std::string* Vocabulary::token(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens.size() || tokens[id].empty()) return nullptr;
  return &tokens[id];
}

const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet alphabet = [] {
    ByteAlphabet a;
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const char32_t c = printable ? static_cast<char32_t>(b) : next++;
      a.symbol[b] = encode_utf8(c);
      a.byte_of[c] = static_cast<unsigned char>(b);
    }
    return a;
  }();
  return alphabet;
}

void BpeMerges::add(const std::string& left, const std::string& right) {
  ranks_.emplace(key(left, right), static_cast<int>(ranks_.size()));
}

int BpeMerges::rank(const std::string& left, const std::string& right) const {
  const auto found = ranks_.find(key(left, right));
  return found == ranks_.end() ? -1 : found->second;
}

// A priority queue of adjacent pairs by (rank, position) over a linked list of
// symbols, as tokenizers' BPE does: O(n log n) in the symbols, so that a long
// word (SentencePiece-style files have no pre-tokenizer: a whole prompt is one
// word) costs no more than its length. Entries made stale by a merge are
// skipped when they come up.
void BpeMerges::apply(std::vector<std::string>& symbols) const {
  const int n = static_cast<int>(symbols.size());
  if (n < 2) return;
  std::vector<int> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  using Entry = std::tuple<int, int, int>;  // rank, left, right
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue;
  const auto push = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const int r = rank(symbols[left], symbols[right]);
    if (r >= 0) queue.emplace(r, left, right);
  };
  for (int i = 0; i + 1 < n; ++i) push(i, i + 1);
  while (!queue.empty()) {
    const auto [r, left, right] = queue.top();
    queue.pop();
    if (!alive[left] || !alive[right] || next[left] != right ||
        rank(symbols[left], symbols[right]) != r) {
      continue;  // a neighbour merged since this entry was made
    }
    symbols[left] += symbols[right];
    alive[right] = false;
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    push(prev[left], left);
    push(left, next[left]);
  }
  std::vector<std::string> merged;
  for (int i = 0; i >= 0; i = next[i]) merged.push_back(std::move(symbols[i]));
  symbols = std::move(merged);
}

}  // namespace detllm::internal
