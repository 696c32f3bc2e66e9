// Internal: the one JSON Lines reader's input side — a file read a buffer at a
// time and cut into lines, with line numbers and the padding simdjson needs.
// Traces (TraceReader) and prompt files are read through it.
#ifndef DETLLM_SRC_ARTIFACTS_LINE_READER_H_
#define DETLLM_SRC_ARTIFACTS_LINE_READER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace detllm::internal {

class LineReader {
 public:
  // Bytes readable after every line returned by next().
  static constexpr size_t kPadding = 64;

  // The longest line read: a trace row of 32768 generated tokens with their
  // logprobs is a few MB, a prompt of the 4M token positions a batch may
  // hold about 30 MB. A longer line (a file with no newline, /dev/zero)
  // is refused before it is held in memory.
  static constexpr size_t kMaxLineBytes = size_t{128} << 20;

  // Throws detllm::Error "cannot read <what> '<path>': file does not exist".
  LineReader(const std::string& path, const std::string& what);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line that is not blank (without its newline), valid until the
  // next call; `unterminated` tells a last line without a newline (a truncated
  // file, when it does not parse). False at the end of the file. Throws
  // detllm::Error "<what> '<path>' line <n> is longer than 128 MiB".
  bool next(std::string_view& line, bool& unterminated);

  int line_number() const { return line_; }  // of the line last returned, 1-based
  const std::string& path() const { return path_; }
  // "<what> '<path>' line <n>", for messages.
  std::string where() const;

 private:
  bool fill();  // reads more after the unconsumed bytes; false at end of file

  std::string path_, what_;
  int fd_ = -1;
  std::vector<char> buffer_;  // [begin_, end_) read but not yet returned
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  int line_ = 0;
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_ARTIFACTS_LINE_READER_H_
