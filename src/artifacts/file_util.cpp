// File-system helpers that must work in every process we link into: whole
// files read, directories listed and removed, and the partial packs left by a
// killed writer found and cleaned.
#include "artifacts/file_util.h"

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "detllm_test/error.h"

namespace detllm::internal {
namespace {
int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }
}  // namespace

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error("cannot read " + what + " '" + path + "': file does not exist or is unreadable");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
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
