// Helpers for the self-tests that need no libtorch, so that the artifacts
// tests link without it: a temporary directory, GPT-2's byte symbols, BPE and
// tokenizer.json files, and an assertion on detllm::Error's message.
#ifndef DETLLM_SELFTEST_TEST_FILES_H_
#define DETLLM_SELFTEST_TEST_FILES_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "detllm_test/error.h"

// Runs `statement`, which must throw detllm::Error whose message contains `text`.
#define EXPECT_ERROR_MENTIONS(statement, text)         \
  try {                                                \
    statement;                                         \
    ADD_FAILURE() << #statement " did not throw";      \
  } catch (const ::detllm::Error& e) {                 \
    EXPECT_THAT(e.what(), ::testing::HasSubstr(text)); \
  }

namespace detllm::testing {

// Its tokenizer.json alone: 256 byte tokens in GPT-2's order, then
// <|begin_of_text|> (256) and <|end_of_text|> (257).
nlohmann::json tiny_llama_tokenizer_json();

// Writes vocab.json and merges.txt: the byte symbols, then one token per merge,
// then "<|endoftext|>". Returns the vocabulary size.
int64_t write_bpe_files(const std::string& dir,
                        const std::vector<std::pair<std::string, std::string>>& merges);

// GPT-2's printable stand-in for a byte ("Ġ" for a space), as UTF-8; and the
// id of that byte's token in GPT-2's vocabulary order.
std::string gpt2_byte_symbol(unsigned char byte);
int64_t gpt2_byte_id(unsigned char byte);

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace detllm::testing

#endif  // DETLLM_SELFTEST_TEST_FILES_H_
