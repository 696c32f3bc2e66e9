// Golden files: the header, the env snapshot and the trace rows of a blessed
// build, read and written atomically, and what changed between two goldens.
#include "detllm_test/golden.h"

#include <algorithm>
#include <string_view>
#include <tuple>

#include "artifacts/file_util.h"
#include "artifacts/json_io.h"
#include "artifacts/line_reader.h"
#include "detllm_test/env_snapshot.h"
#include "detllm_test/error.h"
#include "detllm_test/version.h"

namespace detllm {

using nlohmann::json;

namespace {

// The next header line of a golden, parsed; `type` is its artifact_type.
json read_header(internal::LineReader& lines, const std::string& type) {
  std::string_view line;
  bool unterminated = false;
  if (!lines.next(line, unterminated)) {
    throw Error("golden '" + lines.path() + "' ends before its " + type +
                " header line: it is empty or truncated");
  }
  std::string why;
  const json header = internal::parse_json(line, &why);
  if (header.is_discarded()) {
    throw Error(lines.where() + (unterminated ? " is truncated" : " is not valid JSON: " + why));
  }
  if (!header.is_object() || header.value("artifact_type", json()) != type) {
    throw Error(lines.where() + " is not the golden's " + type +
                " header (is this a golden file?)");
  }
  const json version = header.value("schema_version", json());
  if (!version.is_string() || version.get<std::string>().rfind("1.", 0) != 0) {
    throw Error(lines.where() + " has schema version " + version.dump() +
                "; this detllm reads schema 1.x");
  }
  return header;
}

// `object[key]` when it is an object, else throws naming the field.
json object_field(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_object()) {
    throw Error(where + ": field '" + key + "' must be an object");
  }
  return *it;
}

constexpr const char* kFingerprints = "golden_op_fingerprints";

// The op fingerprint lines after the env line, up to the first row.
void read_fingerprints(internal::LineReader& lines, Golden& golden) {
  std::string_view line;
  bool unterminated = false;
  while (lines.next(line, unterminated)) {
    if (line.find(kFingerprints) == std::string_view::npos) return;  // a trace row
    std::string why;
    const json entry = internal::parse_json(line, &why);
    if (entry.is_discarded()) {
      throw Error(lines.where() + (unterminated ? " is truncated" : " is not valid JSON: " + why));
    }
    if (!entry.is_object() || entry.value("artifact_type", json()) != kFingerprints) return;
    const json index = entry.value("prompt_index", json());
    const json passes = entry.value("passes", json());
    if (!index.is_number_unsigned() || index.get<uint64_t>() != golden.op_fingerprints.size() ||
        !passes.is_array() ||
        !std::all_of(passes.begin(), passes.end(), [](const json& p) { return p.is_string(); })) {
      throw Error(lines.where() +
                  ": op fingerprints need the next prompt_index and 'passes', an array of strings");
    }
    golden.op_fingerprints.push_back(passes.get<std::vector<std::string>>());
  }
}

std::string row_text(const TraceRow& row) { return internal::dump(to_json(row)); }

}  // namespace

Golden read_golden(const std::string& path) {
  Golden golden;
  {
    internal::LineReader lines(path, "golden");
    const json header = read_header(lines, "golden");
    const std::string where = "golden '" + path + "' line 1";
    golden.settings = object_field(header, "settings", where);
    golden.model = object_field(header, "model", where);
    if (header.contains("calibration") && !header["calibration"].is_null()) {
      golden.calibration = object_field(header, "calibration", where);
    }
    golden.env = read_header(lines, "env_snapshot");
    read_fingerprints(lines, golden);
  }
  golden.rows = read_trace(path);  // TraceReader skips the two header lines
  if (golden.rows.empty()) throw Error("golden '" + path + "' has no trace rows");
  return golden;
}

void write_golden(const std::string& path, const Golden& golden) {
  json header = {{"schema_version", kSchemaVersion},
                 {"detllm_version", kVersion},
                 {"artifact_type", "golden"},
                 {"settings", golden.settings},
                 {"model", golden.model}};
  if (!golden.calibration.is_null()) header["calibration"] = golden.calibration;
  std::string text = internal::dump(header) + "\n" + internal::dump(golden.env) + "\n";
  for (size_t i = 0; i < golden.op_fingerprints.size(); ++i) {
    const json entry = {{"artifact_type", kFingerprints},
                        {"prompt_index", i},
                        {"passes", golden.op_fingerprints[i]}};
    text += internal::dump(entry) + "\n";
  }
  for (const TraceRow& row : golden.rows) text += row_text(row) + "\n";

  internal::write_file_atomically(path, text, "golden");
}

std::vector<std::string> golden_changes(const std::optional<Golden>& before, const Golden& after) {
  if (!before) return {"new golden: " + std::to_string(after.rows.size()) + " prompts"};
  std::vector<std::string> changes;
  for (const auto& [part, old_part, new_part] :
       {std::tuple{"settings", &before->settings, &after.settings},
        std::tuple{"model", &before->model, &after.model}}) {
    for (const json& op : json::diff(*old_part, *new_part)) {
      changes.push_back(std::string(part) + " changed: " + op.value("path", std::string()));
    }
  }
  const std::vector<std::string> env_fields = env_differences(before->env, after.env);
  if (!env_fields.empty()) {
    std::string line = "recorded in another environment:";
    for (const std::string& field : env_fields) line += " " + field;
    changes.push_back(line);
  }
  if (before->rows.size() != after.rows.size()) {
    changes.push_back(std::to_string(before->rows.size()) + " prompts before, " +
                      std::to_string(after.rows.size()) + " now");
  }
  for (size_t i = 0; i < std::min(before->rows.size(), after.rows.size()); ++i) {
    Trace old_row{before->rows[i]}, new_row{after.rows[i]};
    auto d = diff_traces(old_row, new_row, {Category::kGoldenMismatch, true});
    if (!d) continue;
    std::string line = "prompt #" + std::to_string(i) + ": ";
    if (d->field == "generated_token_ids") {
      line += "generated token " + std::to_string(d->token_index) + " changed (" +
              std::to_string(d->left_token) + " -> " + std::to_string(d->right_token) + ")";
    } else if (d->field == "scores" && d->token_index >= 0) {
      line += "logprobs changed from generated token " + std::to_string(d->token_index);
    } else {
      line += d->field + " changed";
    }
    changes.push_back(line);
  }
  if (changes.empty()) changes.push_back("unchanged");
  return changes;
}

}  // namespace detllm
