// detllm report --in REPORT_OR_PACK [--out FILE] [--validate-schema]
#include <filesystem>
#include <fstream>
#include <memory>

#include "artifacts/json_io.h"
#include "artifacts/schema_check.h"
#include "cli/common.h"
#include "detllm_test/report.h"

namespace detllm::cli {
namespace {

struct ReportFlags {
  std::string in, out;
  bool validate_schema = false;
};

int report(ReportFlags f) {
  // A pack directory stands for its report.json.
  std::error_code error;
  if (std::filesystem::is_directory(f.in, error)) {
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
  const std::string text = render_text(report);
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
  command->add_flag("--validate-schema", flags->validate_schema,
                    "validate report.json against its JSON Schema first");
  command->callback([flags, &status] { status = report(*flags); });
}

}  // namespace detllm::cli
