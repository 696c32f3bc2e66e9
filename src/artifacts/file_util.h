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

// Temporary files and folders a writer leaves while it works, named with the
// writer's pid: ".<run_id>.partial" (a repro pack; the run id holds the pid)
// and "<name>.partial-<pid>" (a golden, an env snapshot).
std::string partial_name(const std::string& name);  // "<name>.partial-<pid>"

// Removes the temporary entries in `directory` whose writer is dead (killed
// before it could clean up); never one whose process still lives. Errors are
// ignored: this is tidying, not the write itself.
void remove_stale_partials(const std::string& directory);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_ARTIFACTS_FILE_UTIL_H_
