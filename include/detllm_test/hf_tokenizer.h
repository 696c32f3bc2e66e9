// detllm::artifacts — the tokenizers of Hugging Face directories (GPT-2's
// vocab.json + merges.txt, tokenizer.json), loaded without libtorch.
#ifndef DETLLM_TEST_HF_TOKENIZER_H_
#define DETLLM_TEST_HF_TOKENIZER_H_

#include <memory>
#include <string>

#include "detllm_test/tokenizer.h"

namespace detllm {

// GPT-2's byte-level BPE tokenizer from a Hugging Face directory's vocab.json
// and merges.txt (without them, its tokenizer.json, when that holds a
// byte-level BPE): bytes mapped to printable characters, GPT-2's
// pre-tokenization (contractions, letters, numbers, other symbols, spaces),
// merges by rank; exact on any UTF-8 input (invalid UTF-8 is tokenized byte by
// byte). "<|endoftext|>" in the text is the special token when the vocabulary
// has it. Its id is "gpt2-bpe:" and 16 hex digits of the SHA-256 of the files
// read, so traces made with different vocabularies never compare equal.
std::shared_ptr<const Tokenizer> load_gpt2_tokenizer(const std::string& directory);

// The tokenizer of a Hugging Face directory, as transformers' AutoTokenizer
// reads it: tokenizer.json (byte-level BPE with the pre-tokenizer it declares,
// Llama 3's and Qwen2's Split regexes included; SentencePiece-style BPE with
// byte fallback, as Llama 2, Mistral and TinyLlama ship it), else
// vocab.json + merges.txt (GPT-2); a tokenizer.model alone is refused. Added
// and special tokens are matched first; encode() adds what the file's
// post-processor adds (Llama's BOS token); decode() runs the file's decoder. Its id is the kind and
// 16 hex digits of the SHA-256 of the files read. See docs/models.md.
std::shared_ptr<const Tokenizer> load_hf_tokenizer(const std::string& directory);

}  // namespace detllm

#endif  // DETLLM_TEST_HF_TOKENIZER_H_
