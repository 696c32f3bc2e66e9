// detllm::artifacts — a prompt: text, or token ids given directly.
#ifndef DETLLM_TEST_PROMPT_H_
#define DETLLM_TEST_PROMPT_H_

#include <string>
#include <vector>

#include "detllm_test/tokenizer.h"

namespace detllm {

// One request's input. Converts implicitly from text and from token ids, so that
//
//   std::vector<detllm::Prompt> prompts = {"Choose one: A or B.", TokenIds{1, 2, 3}};
//
// works. Text is tokenized with the model's tokenizer; ids are used as given.
struct Prompt {
  Prompt(std::string text_) : text(std::move(text_)) {}               // NOLINT
  Prompt(const char* text_) : text(text_) {}                          // NOLINT
  Prompt(TokenIds ids) : token_ids(std::move(ids)), has_ids(true) {}  // NOLINT

  std::string text;
  TokenIds token_ids;
  bool has_ids = false;
};

// The stable identity of a prompt in traces: SHA-256 hex of its UTF-8 text, or,
// for a prompt given as ids, of the ids written as compact JSON ("[1,2,3]").
std::string prompt_id(const Prompt& prompt);

}  // namespace detllm

#endif  // DETLLM_TEST_PROMPT_H_
