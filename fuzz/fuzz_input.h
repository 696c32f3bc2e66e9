// Fuzzing helpers: a fuzzer's bytes as the files our parsers read. The parsers
// take paths, so inputs become in-memory files (memfd), whose /proc path reads
// like any file without touching the disk.
#ifndef DETLLM_FUZZ_FUZZ_INPUT_H_
#define DETLLM_FUZZ_FUZZ_INPUT_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace detllm::fuzz {

// An in-memory file holding `bytes`, closed when it goes.
class MemoryFile {
 public:
  explicit MemoryFile(std::string_view bytes) : fd_(memfd_create("detllm-fuzz", 0)) {
    if (fd_ < 0) std::abort();
    size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = write(fd_, bytes.data() + written, bytes.size() - written);
      if (n <= 0) std::abort();
      written += static_cast<size_t>(n);
    }
  }
  ~MemoryFile() { close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

// The input cut at its first `parts - 1` NUL bytes (missing parts are empty).
inline std::vector<std::string_view> split_input(const uint8_t* data, size_t size, int parts) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> out;
  for (int i = 0; i + 1 < parts; ++i) {
    const size_t cut = rest.find('\0');
    out.push_back(rest.substr(0, cut));
    rest = cut == std::string_view::npos ? std::string_view() : rest.substr(cut + 1);
  }
  out.push_back(rest);
  return out;
}

}  // namespace detllm::fuzz

#endif  // DETLLM_FUZZ_FUZZ_INPUT_H_
