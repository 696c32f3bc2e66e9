// Internal: file-system helpers that must work in every process we link into.
#ifndef DETLLM_SRC_ARTIFACTS_FILE_UTIL_H_
#define DETLLM_SRC_ARTIFACTS_FILE_UTIL_H_

#include <string>
#include <vector>

namespace detllm::internal {

// Removes `path` and everything below it; a missing path is not an error.
// POSIX nftw rather than std::filesystem::remove_all, which crashes when linked
// against the PyTorch 2.x wheel's libtorch (its bundled filesystem symbols
// interpose libstdc++'s).
void remove_tree(const std::string& path);

// The contents of the file at `path`; throws detllm::Error "cannot read <what>
// '<path>': file does not exist or is unreadable".
std::string read_file(const std::string& path, const std::string& what);

// The names in directory `path` (without "." and ".."), hidden ones too, for
// the same reason through opendir; empty if it cannot be read.
std::vector<std::string> list_directory(const std::string& path);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_ARTIFACTS_FILE_UTIL_H_
