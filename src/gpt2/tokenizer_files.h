// Internal: which files GPT-2's tokenizer is read from, decided in one place
// for the tokenizer itself and for the checkpoint loader that checks and
// fingerprints them.
#ifndef DETLLM_SRC_GPT2_TOKENIZER_FILES_H_
#define DETLLM_SRC_GPT2_TOKENIZER_FILES_H_

#include <string>
#include <vector>

namespace detllm::internal {

// The names of the files load_gpt2_tokenizer reads in `directory`:
// {"vocab.json", "merges.txt"}, or {"tokenizer.json"} when the directory has
// that but neither of the other two.
std::vector<std::string> gpt2_tokenizer_files(const std::string& directory);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_GPT2_TOKENIZER_FILES_H_
