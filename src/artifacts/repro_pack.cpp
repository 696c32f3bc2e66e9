// Repro packs written atomically: into a temporary directory beside the final
// one, renamed into place only when complete.
#include "detllm_test/repro_pack.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "artifacts/file_util.h"
#include "artifacts/json_io.h"
#include "detllm_test/error.h"
#include "detllm_test/report.h"

namespace detllm {

namespace fs = std::filesystem;

std::string new_run_id() {
  static std::atomic<unsigned> counter{0};
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  // Time and pid separate processes; random bits and a counter separate runs
  // within one process (and pids reused across containers).
  std::random_device entropy;
  char id[96];
  std::snprintf(id, sizeof id, "%s-%d-%08x%02x", stamp, static_cast<int>(getpid()),
                static_cast<unsigned>(entropy()), counter.fetch_add(1) & 0xffu);
  return id;
}

PackWriter::PackWriter(const std::string& root, const std::string& run_id) {
  std::error_code error;
  fs::create_directories(root, error);
  if (error) {
    throw Error("cannot create artifact directory '" + root + "': " + error.message());
  }
  internal::remove_stale_partials(root);  // of checks killed before they finished
  final_path_ = (fs::path(root) / run_id).string();
  temp_path_ = (fs::path(root) / ("." + run_id + ".partial")).string();
  fs::create_directory(temp_path_, error);
  if (error) {
    throw Error("artifact directory '" + root + "' is not writable: " + error.message());
  }
}

PackWriter::~PackWriter() {
  if (!committed_) internal::remove_tree(temp_path_);
}

void PackWriter::write_text(const std::string& relative_path, const std::string& text) {
  const fs::path path = fs::path(temp_path_) / relative_path;
  std::error_code error;
  if (relative_path.find('/') != std::string::npos)
    fs::create_directories(path.parent_path(), error);
  std::FILE* out = error ? nullptr : std::fopen(path.c_str(), "wb");
  const bool written = out && std::fwrite(text.data(), 1, text.size(), out) == text.size();
  int reason = error ? error.value() : errno;
  const bool closed = out && std::fclose(out) == 0;
  if (written && !closed) reason = errno;  // a full disk shows when the buffer is flushed
  if (error || !written || !closed) {
    throw Error("cannot write '" + relative_path + "' into the repro pack at '" + temp_path_ +
                "': " + std::strerror(reason));
  }
}

void PackWriter::write_same_as(const std::string& relative_path,
                               const std::string& written_relative_path) {
  const fs::path path = fs::path(temp_path_) / relative_path;
  const fs::path existing = fs::path(temp_path_) / written_relative_path;
  std::error_code error;
  if (relative_path.find('/') != std::string::npos)
    fs::create_directories(path.parent_path(), error);
  if (!error) fs::create_hard_link(existing, path, error);
  if (error) {
    error.clear();
    fs::copy_file(existing, path, error);
  }
  if (error) {
    throw Error("cannot write '" + relative_path + "' into the repro pack at '" + temp_path_ +
                "': " + error.message());
  }
}

void PackWriter::write_json(const std::string& relative_path, const nlohmann::json& json) {
  write_text(relative_path, internal::dump(json, 2) + "\n");
}

void PackWriter::write_report(const Report& report) {
  write_json("report.json", to_json(report));
  write_text("report.txt",
             render_text(report) +
                 (report.pack_dir.empty() ? "" : "repro pack: " + report.pack_dir + "\n"));
  if (const std::optional<Divergence>& d = report.first_found()) {
    write_json("diffs/first_divergence.json", to_json(*d));
  }
}

void PackWriter::write_trace(const std::string& relative_path, const Trace& trace) {
  write_text(relative_path, to_jsonl(trace));
}

namespace {

// Why `dir`, found where a pack is to go, must not be replaced; "" if it may:
// it is empty, or a pack (report.json of artifact_type "report", and nothing
// but JSON, JSON Lines, text and HTML files, in folders at most one deep).
// Anything else is someone's folder, which a pack never deletes.
std::string not_a_pack(const fs::path& dir) {
  std::error_code error;
  if (fs::is_symlink(dir, error) || !fs::is_directory(dir, error)) return "it is not a folder";
  for (auto it = fs::recursive_directory_iterator(dir, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const fs::path& path = it->path();
    const std::string name = fs::relative(path, dir, error).string();
    const fs::file_status status = it->symlink_status(error);
    if (fs::is_directory(status) && it.depth() == 0) continue;
    const std::string ext = path.extension().string();
    if (!fs::is_regular_file(status) || it.depth() > 1 ||
        (ext != ".json" && ext != ".jsonl" && ext != ".txt" && ext != ".html")) {
      return "it holds '" + name + "', which no pack has";
    }
  }
  if (error) return "it cannot be read: " + error.message();
  if (fs::is_empty(dir, error)) return "";
  try {  // missing, unreadable or another artifact: not a pack
    const nlohmann::json report =
        internal::read_json_file((dir / "report.json").string(), "report");
    if (report.value("artifact_type", nlohmann::json()) == "report") return "";
  } catch (const Error&) {
  }
  return "it has no report.json of a pack";
}

}  // namespace

std::string PackWriter::commit(bool replace_existing) {
  std::error_code error;
  std::string replaced;
  if (replace_existing && fs::exists(fs::symlink_status(final_path_, error))) {
    const std::string why = not_a_pack(final_path_);
    if (!why.empty()) {
      throw Error("refusing to replace '" + final_path_ + "': " + why +
                  " (a pack replaces only an earlier pack; give a new folder)");
    }
    // Move the old pack aside first, so the new one appears in one rename.
    replaced = temp_path_ + ".old";
    fs::rename(final_path_, replaced, error);
    if (error) {
      throw Error("cannot replace '" + final_path_ + "': " + error.message());
    }
  }
  fs::rename(temp_path_, final_path_, error);
  if (!replaced.empty()) {
    if (error) fs::rename(replaced, final_path_);  // put the old pack back
    internal::remove_tree(replaced);
  }
  if (error) {
    throw Error("cannot move the repro pack into place at '" + final_path_ +
                "': " + error.message());
  }
  committed_ = true;
  return final_path_;
}

}  // namespace detllm
