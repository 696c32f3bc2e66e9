// The assertions' machinery: a check run for a property and its result turned
// into a GoogleTest AssertionResult, with the pack kept or removed.
#include "detllm_test/assertions.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "check/comparisons.h"
#include "detllm_test/error.h"
#include "detllm_test/fixture.h"

namespace detllm::internal {
namespace {

// "model is repeatable over 5 runs (tier 1, batch size 1) on prompts".
std::string claim(Property property, const char* model, const char* prompts,
                  const CheckOptions& o) {
  const Comparison& c = comparison_of(property);
  return std::string(model) + (c.claim ? c.claim(o) : std::string(" passes")) + " on " + prompts;
}

// Appends a failed assertion's message to <test dir>/failures.txt, the file
// detllm_discover_tests attaches to the test with ATTACHED_FILES_ON_FAIL.
::testing::AssertionResult record_failure(const std::string& test_dir, const std::string& message) {
  std::error_code ignored;
  std::filesystem::create_directories(test_dir, ignored);
  std::ofstream(test_dir + "/failures.txt", std::ios::app) << message << "\n\n";
  return ::testing::AssertionFailure() << message;
}

// A failed check's message: the claim, the report's headline and findings
// (the one renderer), and the pack, also recorded as an XML property.
::testing::AssertionResult report_failure(const std::string& test_dir, const std::string& value_of,
                                          const CheckResult& result) {
  ::testing::Test::RecordProperty("detllm_repro_pack", result.pack_dir);
  std::ostringstream message;
  const std::string headline = result.report.headline();
  message << value_of << "  Actual: " << headline.substr(headline.find(' ') + 1) << "\n"
          << render_findings(result.report, 4) << "    repro pack: " << result.pack_dir;
  return record_failure(test_dir, message.str());
}

}  // namespace

void apply_assertion_defaults(Property property, CheckOptions& options) {
  if (const auto defaults = comparison_of(property).assertion_defaults) defaults(options);
}

::testing::AssertionResult check_property(Property property, const char* model_text,
                                          const char* prompts_text, Generator& model,
                                          const std::vector<Prompt>& prompts,
                                          const CheckOptions& options) {
  CheckOptions o = options;
  o.out_dir = test_artifact_dir();
  o.keep_passing_pack = keep_artifacts();
  const std::string value_of = "Value of: " + claim(property, model_text, prompts_text, o) + "\n";
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
    if (result.pack_dir.empty()) rmdir(o.out_dir.c_str());  // only if empty: other packs stay
    return ::testing::AssertionSuccess();
  }
  return report_failure(o.out_dir, value_of, result);
}

::testing::AssertionResult check_golden_property(const char* model_text, const char* prompts_text,
                                                 Generator& model,
                                                 const std::vector<Prompt>& prompts,
                                                 const GoldenOptions& options) {
  GoldenOptions g = options;
  g.base.out_dir = test_artifact_dir();
  g.base.keep_passing_pack = keep_artifacts();
  const std::string within = g.tolerance.kind == Tolerance::Kind::kExact
                                 ? std::string()
                                 : " within tolerance " + g.tolerance.to_string();
  const std::string value_of = std::string("Value of: ") + model_text + " matches golden '" +
                               g.path + "'" + within + " on " + prompts_text + "\n";
  const bool recording = g.update || golden_update_requested();
  if (!recording && !std::filesystem::exists(g.path)) {
    const auto& argv = ::testing::internal::GetArgvs();
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string command = "DETLLM_UPDATE_GOLDEN=1 " + (argv.empty() ? "<test binary>" : argv[0]);
    if (test)
      command += std::string(" --gtest_filter=") + test->test_suite_name() + "." + test->name();
    return record_failure(g.base.out_dir, value_of + "  Actual: golden '" + g.path +
                                              "' does not exist; record it with:\n    " + command);
  }
  GoldenResult result;
  try {
    result = check_golden(model, prompts, g);
  } catch (const Error& e) {
    return record_failure(g.base.out_dir, value_of + "  Actual: error: " + e.what());
  } catch (const std::exception& e) {
    return record_failure(g.base.out_dir, value_of + "  Actual: the model threw: " + e.what());
  }
  if (result.recorded) {
    std::cout << "[ detllm   ] golden '" << g.path << "' recorded:";
    for (const std::string& change : result.changes) std::cout << "\n    " << change;
    std::cout << std::endl;
    return ::testing::AssertionSuccess();
  }
  if (result.passed()) {
    rmdir(g.base.out_dir.c_str());  // only if empty: other packs stay
    return ::testing::AssertionSuccess();
  }
  return report_failure(g.base.out_dir, value_of, result);
}

}  // namespace detllm::internal
