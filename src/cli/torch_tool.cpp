// Finding detllm-torch beside `detllm` (or where it was installed) and replacing
// this process by it, arguments unchanged.
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/common.h"

namespace detllm::cli {
namespace {

std::string executable_dir() {
  char path[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) return ".";
  const std::string self(path, static_cast<size_t>(length));
  return self.substr(0, self.find_last_of('/'));
}

}  // namespace

void exec_torch_tool(int argc, char** argv) {
  std::vector<std::string> candidates;
  if (const char* explicit_path = std::getenv("DETLLM_TORCH_TOOL")) {
    candidates.push_back(explicit_path);
  } else {
    const std::string here = executable_dir();
    candidates = {here + "/detllm-torch", here + "/../libexec/detllm_test/detllm-torch",
                  DETLLM_INSTALLED_TORCH_TOOL};
  }
  for (const std::string& candidate : candidates) {
    if (access(candidate.c_str(), X_OK) != 0) continue;
    std::vector<char*> args(argv, argv + argc);
    args[0] = const_cast<char*>(candidate.c_str());
    args.push_back(nullptr);
    execv(candidate.c_str(), args.data());
    throw Error("cannot run '" + candidate + "': " + std::strerror(errno));
  }
  std::string looked;
  for (const std::string& candidate : candidates)
    looked += (looked.empty() ? "" : ", ") + candidate;
  throw Error("this subcommand needs detllm-torch (the libtorch half of detllm), not found at " +
              looked + "; set DETLLM_TORCH_TOOL to its path");
}

}  // namespace detllm::cli
