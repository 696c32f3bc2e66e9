// GPT-2's tokenizer files and encoder. Input: a mode byte, then NUL-separated
// parts: mode even: vocab.json, merges.txt, text; odd: tokenizer.json, text.
// The files are read, the text encoded, and the ids decoded again.
#include <filesystem>
#include <fstream>

#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "fuzz_input.h"

namespace {

const std::string& directory() {
  static const std::string dir = [] {
    char name[] = "/tmp/detllm-fuzz-tokenizer-XXXXXX";
    if (mkdtemp(name) == nullptr) std::abort();
    return std::string(name);
  }();
  return dir;
}

void write(const std::string& name, std::string_view bytes) {
  std::ofstream(directory() + "/" + name, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool json_file = data[0] % 2 == 1;
  const auto parts = detllm::fuzz::split_input(data + 1, size - 1, json_file ? 2 : 3);
  for (const char* name : {"vocab.json", "merges.txt", "tokenizer.json"}) {
    std::filesystem::remove(directory() + "/" + name);
  }
  if (json_file) {
    write("tokenizer.json", parts[0]);
  } else {
    write("vocab.json", parts[0]);
    write("merges.txt", parts[1]);
  }
  try {
    const auto tokenizer = detllm::load_gpt2_tokenizer(directory());
    const detllm::TokenIds ids = tokenizer->encode(std::string(parts.back()));
    (void)tokenizer->decode(ids);
    (void)tokenizer->id();
  } catch (const detllm::Error&) {
  }
  return 0;
}
