// detllm diff --left A --right B [--out DIR] [--report] [--validate-schema]
#include <filesystem>
#include <memory>

#include "artifacts/file_util.h"
#include "artifacts/json_io.h"
#include "artifacts/schema_check.h"
#include "cli/common.h"
#include "detllm_test/diff.h"
#include "detllm_test/env_snapshot.h"
#include "detllm_test/report.h"
#include "detllm_test/repro_pack.h"
#include "detllm_test/tokenizer.h"

namespace detllm::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct DiffFlags {
  std::string left, right, out;
  bool print_report = false;
  bool validate_schema = false;
};

bool is_pack(const std::string& path) {
  std::error_code error;
  return fs::is_directory(path, error);
}

// A trace file, or a pack directory's trace.jsonl.
std::string trace_path(const std::string& path) {
  return is_pack(path) ? internal::path_inside(path, "trace.jsonl", "the pack's trace.jsonl")
                       : path;
}

json read_env(const std::string& pack) {
  const std::string path = internal::path_inside(pack, "env.json", "the pack's env.json");
  json env = internal::read_json_file(path, "environment snapshot");
  require_schema_1(env, path);
  return env;
}

// Writes the pack like detLLM's diff: report.json, report.txt and, when the
// traces diverge, diffs/first_divergence.json; an earlier pack there is replaced.
std::string write_pack(const std::string& out, const Report& report) {
  const fs::path dir = fs::absolute(out).lexically_normal();
  PackWriter pack(dir.parent_path().string(), dir.filename().string());
  pack.write_report(report);
  return pack.commit(/*replace_existing=*/true);
}

int diff(const DiffFlags& f, const GlobalFlags& global) {
  DiffResult result = diff_trace_files(
      trace_path(f.left), trace_path(f.right),
      {Category::kRunVarianceFixedBatch, /*compare_scores=*/true, f.left, f.right});
  Report report;
  report.runs = 0;
  report.tier_requested = report.tier_effective = -1;
  report.passed = !result.divergence;
  report.category = result.divergence ? result.divergence->category : Category::kPass;
  if (result.divergence && result.left_row) {
    if (auto tokenizer = find_tokenizer(result.left_row->tokenizer_id)) {
      describe_text(*result.divergence, *result.left_row, *tokenizer);
    }
  }
  report.first_divergence = result.divergence;
  const bool packs = is_pack(f.left) && is_pack(f.right);
  std::vector<std::string> causes;
  if (packs) {
    const json left_env = read_env(f.left), right_env = read_env(f.right);
    report.env_differences = env_differences(left_env, right_env);
    causes = env_likely_causes(left_env, right_env);
    for (const std::string& cause : causes) report.notes.push_back("environment: " + cause);
  }
  if (!f.out.empty()) {
    const std::string dir = write_pack(f.out, report);
    if (f.validate_schema && !schema_valid(internal::validate_pack(dir))) return kBadInput;
  }
  if (!global.quiet) {
    if (f.print_report) {
      std::cout << render_text(report);
    } else {
      if (packs) {
        std::cout << "environment fields that differ:"
                  << (report.env_differences.empty() ? " none" : "") << "\n";
        for (const std::string& field : report.env_differences) std::cout << "  " << field << "\n";
        if (!causes.empty()) std::cout << "likely causes:\n";
        for (const std::string& cause : causes) std::cout << "  " << cause << "\n";
      }
      if (!result.divergence) {
        std::cout << "no divergence: " << result.rows << " rows agree (tokens and logprobs)\n";
      } else {
        std::cout << to_string(result.divergence->category) << "\n"
                  << render_divergence_text(*result.divergence, 2);
      }
    }
  }
  return result.divergence ? kDiverged : kPass;
}

}  // namespace

void add_diff_command(CLI::App& app, const GlobalFlags& global, int& status) {
  auto flags = std::make_shared<DiffFlags>();
  CLI::App* command = app.add_subcommand(
      "diff", "compare two traces or two packs, streamed (exit 0 agree, 1 diverge, 2 bad input)");
  command->add_option("--left", flags->left, "a trace (.jsonl) or a pack directory")->required();
  command->add_option("--right", flags->right, "a trace (.jsonl) or a pack directory")->required();
  command->add_option("--out", flags->out,
                      "write report.json, report.txt and diffs/first_divergence.json here");
  command->add_flag("--report", flags->print_report, "print the report text");
  command->add_flag("--validate-schema", flags->validate_schema,
                    "validate the pack written with --out against the JSON Schemas");
  command->callback([flags, &global, &status] { status = diff(*flags, global); });
}

}  // namespace detllm::cli
