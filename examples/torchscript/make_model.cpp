// Writes a small TorchScript transformer for the TorchScript example:
//   make_example_model <path.pt> [correct|ignores-padding|put-overwrites]
// The second kind has the classic bug of attending to padding, so its batch
// invariance test fails (see docs/assertions.md); the third uses put_, which
// has no deterministic kernel, so the controls stop it and name the op.
#include <iostream>
#include <string>

#include "test_models.h"

int main(int argc, char** argv) {
  const std::string kind = argc > 2 ? argv[2] : "correct";
  if (argc < 2 || argc > 3 ||
      (kind != "correct" && kind != "ignores-padding" && kind != "put-overwrites")) {
    std::cerr << "usage: make_example_model <path.pt> [correct|ignores-padding|put-overwrites]\n";
    return 2;
  }
  using detllm::testing::Defect;
  const Defect defect = kind == "ignores-padding"  ? Defect::kIgnoresPadding
                        : kind == "put-overwrites" ? Defect::kPutOverwrites
                                                   : Defect::kNone;
  detllm::testing::TempDir dir;
  const std::string written = detllm::testing::write_torchscript_model(dir.path(), defect);
  return std::rename(written.c_str(), argv[1]) == 0 ? 0 : 1;
}
