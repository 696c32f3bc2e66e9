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

// The most bytes read_file() reads: far above any artifact or published
// checkpoint file it reads whole (a 33 MB tokenizer.json), far below what
// /dev/zero or a runaway file would make it allocate.
inline constexpr size_t kMaxFileBytes = size_t{1} << 30;

// The contents of the file at `path`; throws detllm::Error "cannot read <what>
// '<path>': <the system's reason>", also for a file over kMaxFileBytes.
std::string read_file(const std::string& path, const std::string& what);

// Writes `text` to `path` so that a reader sees the old file or the whole new
// one, never a part: into "<path>.partial-<pid>" beside it, flushed to disk,
// then renamed over `path`. Creates the parent directories. On any failure
// (a full disk, a read-only directory) the temporary file is removed, `path`
// is left as it was, and detllm::Error says "cannot write <what> '<path>':
// <the system's reason>" ("No space left on device").
void write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& what);

// `relative` inside directory `root`, with every symlink followed: the real
// path, which must lie under root's real path. Throws detllm::Error "<what>
// '<relative>' is outside <root>" for an absolute path, "..", or a symlink
// that leads out (a crafted pack naming /etc/passwd through a link). A path
// that does not exist is returned as it would resolve (the caller's read then
// says it is missing).
std::string path_inside(const std::string& root, const std::string& relative,
                        const std::string& what);

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
