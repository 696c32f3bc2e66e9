// detllm::artifacts — writing a repro pack atomically: complete, or not at all.
#ifndef DETLLM_TEST_REPRO_PACK_H_
#define DETLLM_TEST_REPRO_PACK_H_

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "detllm_test/trace.h"

namespace detllm {

struct Report;

// A run id that cannot collide between threads or concurrent processes:
// UTC time, process id and random bits, e.g. "20261123T052233Z-4711-9f3a1c2b".
std::string new_run_id();

// Builds a pack in a hidden temporary directory beside its final place and
// renames it into place on commit(); destroyed without commit, it removes the
// temporary directory, so a failure never leaves a half-written pack.
//
//   detllm::PackWriter pack("artifacts", detllm::new_run_id());
//   pack.write_json("env.json", env);
//   std::string dir = pack.commit();  // "artifacts/<run_id>"
class PackWriter {
 public:
  // Throws detllm::Error if `root` cannot be created or written.
  PackWriter(const std::string& root, const std::string& run_id);
  ~PackWriter();
  PackWriter(const PackWriter&) = delete;
  PackWriter& operator=(const PackWriter&) = delete;

  // `relative_path` may contain directories ("diffs/first_divergence.json").
  void write_json(const std::string& relative_path, const nlohmann::json& json);
  void write_text(const std::string& relative_path, const std::string& text);
  void write_trace(const std::string& relative_path, const Trace& trace);
  // A second name for a file already written (a hard link; a copy where the
  // file system has none): identical artifacts, e.g. the runs' environment
  // snapshots, cost a link instead of a file.
  void write_same_as(const std::string& relative_path, const std::string& written_relative_path);
  // A report's files, as every pack has them: report.json, report.txt (with
  // the pack's path, when report.pack_dir names it) and, when something
  // diverged, diffs/first_divergence.json.
  void write_report(const Report& report);

  // Moves the pack into place and returns its path. With `replace_existing`, an
  // earlier pack there (report.json and only a pack's kinds of files) or an
  // empty folder is replaced; anything else there, and without
  // `replace_existing` anything at all, is an error: a pack never deletes a
  // folder it did not write.
  std::string commit(bool replace_existing = false);

  const std::string& final_path() const { return final_path_; }

 private:
  std::string temp_path_;
  std::string final_path_;
  bool committed_ = false;
};

}  // namespace detllm

#endif  // DETLLM_TEST_REPRO_PACK_H_
