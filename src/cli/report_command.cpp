// detllm report --in REPORT_OR_PACK [--out FILE] [--html] [--validate-schema]
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>

#include "artifacts/file_util.h"
#include "artifacts/json_io.h"
#include "artifacts/schema_check.h"
#include "cli/common.h"
#include "detllm_test/report.h"
#include "detllm_test/trace.h"

namespace detllm::cli {
namespace {

struct ReportFlags {
  std::string in, out;
  bool html = false;
  bool validate_schema = false;
};

// report.html of a pack: the report with both sides' rows of the prompt.
std::string html_of(const std::string& pack, const Report& report) {
  const std::optional<Divergence>& d = report.first_found();
  std::optional<TraceRow> left, right;
  if (d && d->index >= 0 && !pack.empty()) {
    // The divergence names its sides' files; a pack without them (written
    // by an older detllm) is rendered without the token streams.
    for (auto [file, side] : {std::pair{d->left_trace, &left}, std::pair{d->right_trace, &right}}) {
      if (file.empty()) continue;
      // Symlinks followed: a crafted pack's link to a file outside it is refused.
      const std::string path = internal::path_inside(pack, file, "the report's trace");
      std::error_code error;
      if (!std::filesystem::exists(path, error)) continue;
      const Trace trace = read_trace(path);
      if (d->index < static_cast<int>(trace.size())) *side = trace[d->index];
    }
  }
  std::shared_ptr<const Tokenizer> tokenizer = left ? find_tokenizer(left->tokenizer_id) : nullptr;
  return render_html(report, left && right ? &*left : nullptr, left && right ? &*right : nullptr,
                     tokenizer.get());
}

int report(ReportFlags f) {
  // A pack directory stands for its report.json.
  std::error_code error;
  std::string pack;
  if (std::filesystem::is_directory(f.in, error)) {
    pack = f.in;
    f.in = internal::path_inside(pack, "report.json", "the pack's report.json");
  }
  if (f.validate_schema && !schema_valid(internal::validate_file(f.in))) return kBadInput;
  const nlohmann::json report_json = internal::read_json_file(f.in, "report");
  require_schema_1(report_json, f.in);
  Report report;
  try {
    report = report_from_json(report_json);
  } catch (const std::exception& e) {
    throw Error("report '" + f.in + "' is not a report: " + e.what());
  }
  const std::string text = f.html ? html_of(pack, report) : render_text(report);
  if (f.out.empty()) {
    std::cout << text;
  } else {
    internal::write_file_atomically(f.out, text, f.html ? "report.html" : "the report text");
  }
  return report.passed ? kPass : kDiverged;  // as diff: CI can gate on it
}

}  // namespace

void add_report_command(CLI::App& app, const GlobalFlags&, int& status) {
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* command = app.add_subcommand(
      "report", "render a report.json as text (exit 0 PASS, 1 FAIL, 2 bad input)");
  command->add_option("--in", flags->in, "report.json, or a repro pack directory")->required();
  command->add_option("--out", flags->out, "write the text here instead of stdout");
  command->add_flag("--html", flags->html,
                    "render report.html instead (self-contained; with a pack directory as --in, "
                    "with both token streams)");
  command->add_flag("--validate-schema", flags->validate_schema,
                    "validate report.json against its JSON Schema first");
  command->callback([flags, &status] { status = report(*flags); });
}

}  // namespace detllm::cli
