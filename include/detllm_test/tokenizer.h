// detllm::artifacts — tokenizers: text <-> token ids; the built-in byte
// tokenizer. (Hugging Face directories' tokenizers: hf_tokenizer.h.)
#ifndef DETLLM_TEST_TOKENIZER_H_
#define DETLLM_TEST_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace detllm {

// A sequence of token ids.
using TokenIds = std::vector<int64_t>;

// Turns text into token ids and back. `id()` is written into traces as
// `tokenizer_id`: two traces made with different tokenizers are reported as a
// TOKENIZATION_MISMATCH rather than compared token by token.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string id() const = 0;
  virtual TokenIds encode(const std::string& text) const = 0;
  // Decodes ids to text; ids the tokenizer does not know are written as
  // "<|id|>" so that a report can always show something.
  virtual std::string decode(const TokenIds& ids) const = 0;
};

// The built-in byte-level tokenizer: one token per UTF-8 byte (ids 0..255). Its
// id is "detllm/bytes".
class ByteTokenizer : public Tokenizer {
 public:
  static constexpr char kId[] = "detllm/bytes";
  std::string id() const override { return kId; }
  TokenIds encode(const std::string& text) const override;
  std::string decode(const TokenIds& ids) const override;
};

// Returns a shared ByteTokenizer.
std::shared_ptr<const Tokenizer> byte_tokenizer();

// Returns the tokenizer that `id` names if the library knows it, else nullptr.
// Used to render tokens of a trace read back from disk.
std::shared_ptr<const Tokenizer> find_tokenizer(const std::string& id);

}  // namespace detllm

#endif  // DETLLM_TEST_TOKENIZER_H_
