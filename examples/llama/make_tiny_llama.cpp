// Writes a tiny Llama checkpoint (random weights, a byte-level tokenizer.json
// with Llama 3's Split regex, generation_config.json) in Hugging Face's
// layout, for the Llama example and the CLI tests:
//   make_tiny_llama <directory>
#include <iostream>

#include "test_models.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_tiny_llama <directory>\n";
    return 2;
  }
  try {
    detllm::testing::TinyLlama tiny;
    tiny.eos = {257};
    detllm::testing::write_tiny_llama(argv[1], tiny);
  } catch (const std::exception& e) {
    std::cerr << "make_tiny_llama: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
