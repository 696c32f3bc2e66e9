// Writes a tiny GPT-2 checkpoint (random weights, a small byte-level BPE
// vocabulary) in Hugging Face's layout, for the GPT-2 example and the CLI
// tests:
//   make_tiny_gpt2 <directory>
#include <iostream>

#include "detllm_test/error.h"
#include "test_models.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_tiny_gpt2 <directory>\n";
    return 2;
  }
  try {
    detllm::testing::write_tiny_gpt2(argv[1]);
  } catch (const std::exception& e) {
    std::cerr << "make_tiny_gpt2: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
