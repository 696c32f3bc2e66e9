// tokenizer.json tokenizers (normalizers, Split regexes, Metaspace, BPE with
// byte fallback, added tokens, templates). Input: the file, a NUL, then the
// text, which is encoded and the ids decoded again.
#include "detllm_test/error.h"
#include "fuzz_input.h"
#include "tokenizers/tokenizer_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = detllm::fuzz::split_input(data, size, 2);
  try {
    const auto tokenizer =
        detllm::internal::hf_tokenizer_from_json("fuzz/tokenizer.json", std::string(parts[0]));
    (void)tokenizer->decode(tokenizer->encode(std::string(parts[1])));
  } catch (const detllm::Error&) {
  }
  return 0;
}
