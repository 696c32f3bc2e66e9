#include "detllm_test/assertions.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "detllm_test/error.h"
#include "detllm_test/fixture.h"
#include "internal/file_util.h"

namespace detllm::internal {
namespace {

// The first top-level argument of the macro's argument text: the model.
std::string first_argument(const std::string& arguments) {
  int depth = 0;
  for (size_t i = 0; i < arguments.size(); ++i) {
    const char c = arguments[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (c == ',' && depth == 0) return arguments.substr(0, i);
  }
  return arguments;
}

std::string join(const std::vector<int>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  return out;
}

// "model is repeatable over 5 runs (tier 1, batch size 1)".
std::string claim(Property property, const std::string& model, const CheckOptions& o) {
  std::ostringstream out;
  out << model;
  if (property == Property::kRepeatable) {
    out << " is repeatable over " << o.runs << " runs (tier " << o.determinism.tier
        << ", batch size " << o.batch_size << ")";
  } else {
    std::vector<int> sizes = {o.batch_size};
    for (int b : o.vary_batch) {
      if (b != o.batch_size) sizes.push_back(b);
    }
    out << " is batch invariant at batch sizes " << join(sizes);
    if (o.needle_trials > 0) {
      out << " and in " << o.needle_trials << " needle trials up to batch size "
          << o.needle_max_batch_size;
    }
    out << " (tier " << o.determinism.tier << ")";
  }
  return out.str();
}

// Appends a failed assertion's message to <test dir>/failures.txt, the file
// detllm_discover_tests attaches to the test with ATTACHED_FILES_ON_FAIL.
::testing::AssertionResult record_failure(const std::string& test_dir, const std::string& message) {
  std::error_code ignored;
  std::filesystem::create_directories(test_dir, ignored);
  std::ofstream(test_dir + "/failures.txt", std::ios::app) << message << "\n\n";
  return ::testing::AssertionFailure() << message;
}

}  // namespace

::testing::AssertionResult check_property(Property property, const char* arguments,
                                          Generator& model, const std::vector<Prompt>& prompts,
                                          const CheckOptions& options) {
  CheckOptions o = options;
  o.out_dir = test_artifact_dir();
  const std::string value_of = "Value of: " + claim(property, first_argument(arguments), o) + "\n";
  CheckResult result;
  try {
    result = check(model, prompts, o);
  } catch (const Error& e) {
    return record_failure(o.out_dir, value_of + "  Actual: error: " + e.what());
  } catch (const std::exception& e) {
    // A model's own exception (a callable engine, libtorch): a failure, not a crash.
    return record_failure(o.out_dir, value_of + "  Actual: the model threw: " + e.what());
  }
  if (result.passed()) {
    if (!keep_artifacts() && !result.pack_dir.empty()) {
      remove_tree(result.pack_dir);
      rmdir(o.out_dir.c_str());  // only if empty: other packs of this test stay
    }
    return ::testing::AssertionSuccess();
  }
  const Report& r = result.report;
  ::testing::Test::RecordProperty("detllm_repro_pack", result.pack_dir);
  std::ostringstream message;
  message << value_of << "  Actual: " << r.headline().substr(r.headline().find(' ') + 1) << "\n";
  if (r.cold_start_differs) {
    message << "    run 0, the first call after loading, differs; the later runs agree\n";
  }
  if (r.first_divergence) message << render_divergence_text(*r.first_divergence, 4);
  if (r.batch_divergence && !r.first_divergence)
    message << render_divergence_text(*r.batch_divergence, 4);
  if (r.category == Category::kRunVarianceFixedBatch) {
    message << "    " << r.distinct_outputs << " distinct outputs in " << r.runs << " runs\n";
  }
  if (!r.env_differences.empty()) {
    message << "    environment changed before run " << r.env_mismatch_run << ":";
    for (const std::string& field : r.env_differences) message << " " << field;
    message << "\n";
  }
  message << "    controls: " << r.controls << "\n"
          << "    repro pack: " << result.pack_dir;
  return record_failure(o.out_dir, message.str());
}

}  // namespace detllm::internal
