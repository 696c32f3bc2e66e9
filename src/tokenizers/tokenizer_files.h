// Internal: which files the tokenizers are read from, decided in one place
// for the tokenizer itself and for the checkpoint loader that checks and
// fingerprints them.
#ifndef DETLLM_SRC_HF_TOKENIZER_FILES_H_
#define DETLLM_SRC_HF_TOKENIZER_FILES_H_

#include <memory>
#include <string>
#include <vector>

#include "detllm_test/tokenizer.h"

namespace detllm::internal {

// The names of the files load_gpt2_tokenizer reads in `directory`:
// {"vocab.json", "merges.txt"}, or {"tokenizer.json"} when the directory has
// that but neither of the other two.
std::vector<std::string> gpt2_tokenizer_files(const std::string& directory);

// The names of the files load_hf_tokenizer reads in `directory`: tokenizer.json;
// else vocab.json and merges.txt; else tokenizer.model (and
// tokenizer_config.json when there). Throws detllm::Error when there are none.
std::vector<std::string> hf_tokenizer_files(const std::string& directory);

// The tokenizer a tokenizer.json's `text` describes (`path` names it in errors).
std::shared_ptr<const Tokenizer> hf_tokenizer_from_json(const std::string& path,
                                                        const std::string& text);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_HF_TOKENIZER_FILES_H_
