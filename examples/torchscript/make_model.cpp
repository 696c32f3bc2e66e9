// Writes a small TorchScript transformer for the TorchScript example:
//   make_example_model <path.pt> [correct|ignores-padding]
// The second kind has the classic bug of attending to padding, so its batch
// invariance test fails (see docs/assertions.md).
#include <iostream>
#include <string>

#include "test_models.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: make_example_model <path.pt> [correct|ignores-padding]\n";
    return 2;
  }
  const bool buggy = argc > 2 && std::string(argv[2]) == "ignores-padding";
  detllm::testing::TempDir dir;
  const std::string written = detllm::testing::write_torchscript_model(
      dir.path(),
      buggy ? detllm::testing::Defect::kIgnoresPadding : detllm::testing::Defect::kNone);
  return std::rename(written.c_str(), argv[1]) == 0 ? 0 : 1;
}
