// Internal: loading a TorchScript archive with an error that names the file.
// Shared by TorchScript models and the built-in model's weight files.
#ifndef DETLLM_SRC_MODELS_TORCHSCRIPT_ARCHIVE_H_
#define DETLLM_SRC_MODELS_TORCHSCRIPT_ARCHIVE_H_

#include <torch/script.h>

#include <filesystem>
#include <string>

#include "detllm_test/error.h"
#include "models/decoding.h"

namespace detllm::internal {

inline void require_file(const std::string& path, const std::string& what) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw Error("cannot load " + what + " '" + path + "': file does not exist");
  }
}

inline torch::jit::Module load_archive(const std::string& path, const std::string& what,
                                       const at::Device& device) {
  require_file(path, what);
  try {
    return torch::jit::load(path, device);
  } catch (const std::exception& e) {
    throw Error("cannot load " + what + " '" + path + "': not a valid TorchScript archive (" +
                first_line(e.what()) + ")");
  }
}

}  // namespace detllm::internal

#endif  // DETLLM_SRC_MODELS_TORCHSCRIPT_ARCHIVE_H_
