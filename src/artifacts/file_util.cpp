// File-system helpers that must work in every process we link into: whole
// files read, directories listed and removed, and the partial packs left by a
// killed writer found and cleaned.
#include "artifacts/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "detllm_test/error.h"

namespace detllm::internal {

namespace fs = std::filesystem;

namespace {
int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }
}  // namespace

std::string read_file(const std::string& path, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const auto fail = [&](int error) {
    throw Error("cannot read " + what + " '" + path +
                "': " + (error == ENOENT ? "file does not exist" : std::strerror(error)));
  };
  if (fd < 0) fail(errno);
  std::string text;
  char buffer[1 << 16];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || text.size() + static_cast<size_t>(got) > kMaxFileBytes) {
      const int error = got < 0 ? errno : 0;
      ::close(fd);
      if (error != 0) fail(error);
      if (got == 0) return text;
      throw Error("cannot read " + what + " '" + path + "': it is larger than " +
                  std::to_string(kMaxFileBytes >> 20) + " MiB");
    }
    text.append(buffer, static_cast<size_t>(got));
  }
}

void write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& what) {
  const fs::path target(path);
  const std::string directory = target.has_parent_path() ? target.parent_path().string() : ".";
  std::error_code created;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), created);
  remove_stale_partials(directory);
  const std::string temp = partial_name(path);
  const auto fail = [&](int error) {
    ::unlink(temp.c_str());
    throw Error("cannot write " + what + " '" + path + "': " + std::strerror(error));
  };
  if (created) fail(created.value());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(errno);
  for (size_t done = 0; done < text.size();) {
    const ssize_t wrote = ::write(fd, text.data() + done, text.size() - done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      const int error = wrote < 0 ? errno : ENOSPC;
      ::close(fd);
      fail(error);
    }
    done += static_cast<size_t>(wrote);
  }
  // A file system that accepts a write and reports ENOSPC or EIO only when the
  // data reaches the disk (NFS, some FUSE) says so at fsync or close.
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    const int error = errno;
    ::close(fd);
    fail(error);
  }
  if (::close(fd) != 0) fail(errno);
  if (::rename(temp.c_str(), path.c_str()) != 0) fail(errno);
}

std::string path_inside(const std::string& root, const std::string& relative,
                        const std::string& what) {
  const fs::path rel(relative);
  const auto outside = [&] { throw Error(what + " '" + relative + "' is outside '" + root + "'"); };
  if (rel.is_absolute()) outside();
  for (const fs::path& part : rel) {
    if (part == "..") outside();
  }
  std::error_code error;
  const fs::path real_root = fs::weakly_canonical(fs::absolute(root), error);
  if (error) throw Error("cannot resolve '" + root + "': " + error.message());
  const fs::path real = fs::weakly_canonical(real_root / rel, error);
  if (error) throw Error("cannot resolve " + what + " '" + relative + "': " + error.message());
  // Component by component, so that /pack-evil is not taken to be inside /pack.
  auto r = real_root.begin();
  auto p = real.begin();
  for (; r != real_root.end() && !r->empty(); ++r, ++p) {
    if (p == real.end() || *p != *r) outside();
  }
  return real.string();
}

std::vector<std::string> list_directory(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return names;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  return names;
}

void remove_tree(const std::string& path) {
  nftw(path.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

namespace {

// The writer's pid in a temporary entry's name, or nullopt if it is none.
std::optional<long> writer_of(const std::string& name) {
  std::string digits;
  const size_t suffix = name.rfind(".partial-");
  if (suffix != std::string::npos) {
    digits = name.substr(suffix + 9);
  } else if (name.size() > 9 && name[0] == '.' &&
             name.compare(name.size() - 8, 8, ".partial") == 0) {
    const size_t first = name.find('-');  // .<stamp>-<pid>-<hex>.partial
    const size_t second = first == std::string::npos ? first : name.find('-', first + 1);
    if (second != std::string::npos) digits = name.substr(first + 1, second - first - 1);
  }
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stol(digits);
}

bool alive(long pid) {
  return pid == getpid() || kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

std::string partial_name(const std::string& name) {
  return name + ".partial-" + std::to_string(getpid());
}

void remove_stale_partials(const std::string& directory) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    const std::optional<long> pid = writer_of(entry.path().filename().string());
    if (pid && *pid > 0 && !alive(*pid)) remove_tree(entry.path().string());
  }
}

}  // namespace detllm::internal
