// Validating artifacts against the shipped JSON Schemas (valijson, where the
// build found it).
#include "artifacts/schema_check.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"
#include "detllm_test/trace.h"

#ifdef DETLLM_HAVE_VALIJSON
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#endif

namespace detllm::internal {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// $DETLLM_SCHEMA_DIR, the installed schemas, or the source tree's.
std::string schema_dir() {
  for (const char* candidate : {static_cast<const char*>(std::getenv("DETLLM_SCHEMA_DIR")),
                                DETLLM_INSTALLED_SCHEMA_DIR, DETLLM_SOURCE_SCHEMA_DIR}) {
    std::error_code error;
    if (candidate != nullptr && fs::is_directory(candidate, error)) return candidate;
  }
  throw Error("cannot find the JSON Schemas (set DETLLM_SCHEMA_DIR to schemas/detllm-1.0)");
}

// The schema for an artifact: by artifact_type, else by file name.
std::string schema_for(const json& artifact, const std::string& path) {
  static const std::map<std::string, std::string> by_type = {
      {"env_snapshot", "env_snapshot"},
      {"run_config", "run_config"},
      {"determinism_applied", "determinism_applied"},
      {"report", "report"}};
  if (artifact.is_object() && artifact.contains("artifact_type") &&
      artifact["artifact_type"].is_string()) {
    auto it = by_type.find(artifact["artifact_type"].get<std::string>());
    if (it != by_type.end()) return it->second;
  }
  if (fs::path(path).filename() == "first_divergence.json") return "first_divergence";
  throw Error("'" + path + "' is not an artifact of schema 1.0 (no known artifact_type)");
}

void validate(const json& document, const std::string& schema_name, const std::string& where,
              std::vector<std::string>& problems) {
#ifdef DETLLM_HAVE_VALIJSON
  // Parsed once per schema; valijson's Schema can be neither copied nor moved.
  static std::map<std::string, std::unique_ptr<valijson::Schema>> schemas;
  std::unique_ptr<valijson::Schema>& schema = schemas[schema_name];
  if (!schema) {
    const json schema_json =
        internal::read_json_file(schema_dir() + "/" + schema_name + ".json", "schema");
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(schema_json);
    schema = std::make_unique<valijson::Schema>();
    parser.populateSchema(adapter, *schema);
  }
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(document);
  if (validator.validate(*schema, target, &results)) return;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    std::string context;
    for (const std::string& part : error.context) context += part;
    problems.push_back(where + ": " + context + ": " + error.description);
  }
#else
  (void)document, (void)schema_name, (void)where, (void)problems;
  throw Error(
      "--validate-schema is not available: this build has no valijson (apt-get install "
      "libvalijson-dev)");
#endif
}

}  // namespace

std::vector<std::string> validate_file(const std::string& path) {
  std::vector<std::string> problems;
  const json artifact = internal::read_json_file(path, "artifact");
  validate(artifact, schema_for(artifact, path), path, problems);
  return problems;
}

std::vector<std::string> validate_pack(const std::string& pack_dir) {
  std::vector<std::string> problems;
  for (const auto& entry : fs::recursive_directory_iterator(pack_dir)) {
    const std::string path = entry.path().string();
    if (entry.path().extension() == ".json") {
      const json artifact = internal::read_json_file(path, "artifact");
      validate(artifact, schema_for(artifact, path), path, problems);
    } else if (entry.path().extension() == ".jsonl") {
      int line = 0;
      for (const TraceRow& row : read_trace(path)) {
        validate(to_json(row), "trace_row", path + " row " + std::to_string(++line), problems);
      }
    }
  }
  return problems;
}

}  // namespace detllm::internal
