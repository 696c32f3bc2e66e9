// The input side of the one JSON Lines reader: a file read a buffer at a time
// and cut into lines, with line numbers and simdjson's padding.
#include "artifacts/line_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

constexpr size_t kReadSize = size_t{1} << 20;  // bytes read from the file at a time

}  // namespace

LineReader::LineReader(const std::string& path, const std::string& what)
    : path_(path), what_(what) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw Error("cannot read " + what + " '" + path +
                "': " + (errno == ENOENT ? "file does not exist" : std::strerror(errno)));
  }
  buffer_.resize(kReadSize + kPadding);
}

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

std::string LineReader::where() const {
  return what_ + " '" + path_ + "' line " + std::to_string(line_);
}

bool LineReader::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() < end_ + kReadSize + kPadding) {
    buffer_.resize(std::max(buffer_.size() * 2, end_ + kReadSize + kPadding));
  }
  ssize_t got;
  do {
    got = ::read(fd_, buffer_.data() + end_, kReadSize);
  } while (got < 0 && errno == EINTR);
  if (got < 0) throw Error("cannot read " + what_ + " '" + path_ + "': " + std::strerror(errno));
  if (got == 0) {
    eof_ = true;
    return false;
  }
  end_ += static_cast<size_t>(got);
  return true;
}

bool LineReader::next(std::string_view& line, bool& unterminated) {
  while (true) {
    const char* newline = nullptr;
    size_t searched = begin_;
    while ((newline = static_cast<const char*>(
                std::memchr(buffer_.data() + searched, '\n', end_ - searched))) == nullptr) {
      searched = end_ - begin_;  // where the search resumes once fill() moved the bytes to 0
      if (searched > kMaxLineBytes) {
        ++line_;
        throw Error(where() + " is longer than " + std::to_string(kMaxLineBytes >> 20) +
                    " MiB (is this a JSON Lines file?)");
      }
      if (!fill()) {
        searched = begin_;
        break;
      }
    }
    if (newline == nullptr && begin_ == end_) return false;
    unterminated = newline == nullptr;
    const size_t line_end = unterminated ? end_ : static_cast<size_t>(newline - buffer_.data());
    const size_t start = begin_;
    begin_ = unterminated ? end_ : line_end + 1;
    ++line_;
    // fill() keeps kPadding bytes of slack after what it read; the bytes after a
    // line are the next lines' or that slack, readable either way.
    line = std::string_view(buffer_.data() + start, line_end - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) return true;
  }
}

}  // namespace detllm::internal
