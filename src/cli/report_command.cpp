// detllm report --in REPORT_OR_PACK [--out FILE] [--html] [--validate-schema]
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <tuple>

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

// The trace of a pack that holds the side a divergence label names:
// "run 3" -> traces/run_3.jsonl, "batch size 4", "needle trial 2 (...)",
// "threads 2", "prefill", "golden"; the baseline side is trace.jsonl.
std::string side_trace(const std::string& pack, const std::string& label, bool left) {
  namespace fs = std::filesystem;
  auto number_after = [&](const std::string& prefix) {
    return label.substr(prefix.size(), label.find(' ', prefix.size()) - prefix.size());
  };
  std::string file = "trace.jsonl";
  if (label == "golden") {
    file = "golden.jsonl";
  } else if (left) {
    // run 0, the baseline: trace.jsonl
  } else if (label.rfind("run ", 0) == 0) {
    file = "traces/run_" + number_after("run ") + ".jsonl";
  } else if (label.rfind("batch size ", 0) == 0) {
    file = "traces/batch_" + number_after("batch size ") + ".jsonl";
  } else if (label.rfind("needle trial ", 0) == 0) {
    file = "traces/needle_" + number_after("needle trial ") + ".jsonl";
  } else if (label.rfind("threads ", 0) == 0) {
    file = "traces/threads_" + number_after("threads ") + ".jsonl";
  } else if (label == "prefill") {
    file = "traces/prefill.jsonl";
  }
  return (fs::path(pack) / file).string();
}

// report.html of a pack: the report with both sides' rows of the prompt.
std::string html_of(const std::string& pack, const Report& report) {
  const std::optional<Divergence>& d = report.first_found();
  std::optional<TraceRow> left, right;
  if (d && d->index >= 0 && !pack.empty()) {
    for (auto [label, side, is_left] :
         {std::tuple{d->left_label, &left, true}, std::tuple{d->right_label, &right, false}}) {
      std::error_code error;
      const std::string path = side_trace(pack, label, is_left);
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
    f.in = (std::filesystem::path(f.in) / "report.json").string();
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
  } else if (!(std::ofstream(f.out) << text)) {
    throw Error("cannot write '" + f.out + "'");
  }
  return kPass;
}

}  // namespace

void add_report_command(CLI::App& app, const GlobalFlags&, int& status) {
  auto flags = std::make_shared<ReportFlags>();
  CLI::App* command = app.add_subcommand("report", "render a report.json as text");
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
