// run() and check(), the library's two entry points: the one pipeline
// (pipeline.h) with one phase and no verdict, or with every phase the
// options ask for.
#include "detllm_test/check.h"

#include "check/pack_defaults.h"
#include "check/phases.h"
#include "check/pipeline.h"
#include "detllm_test/error.h"

namespace detllm {

RunResult run(Generator& model, const std::vector<Prompt>& prompts, const RunOptions& given) {
  CheckOptions options;
  static_cast<RunOptions&>(options) = given;
  internal::CheckRun check_run(model, prompts, internal::with_pack_defaults(options));
  check_run.verdict = false;
  internal::execute(check_run, [](const internal::CheckRun& r) {
    return std::vector<internal::Phase>{internal::run_phase(r.options, r.requests.size())};
  });
  CheckResult& done = check_run.result;
  if (!done.determinism.capability_failures.empty()) {
    throw Error("unsupported request: " + done.determinism.capability_failures.front() +
                (done.pack_dir.empty() ? "" : " (pack: " + done.pack_dir + ")"));
  }
  RunResult result;
  result.trace = std::move(done.runs.at(0));
  result.determinism = std::move(done.determinism);
  result.pack_dir = std::move(done.pack_dir);
  return result;
}

CheckResult check(Generator& model, const std::vector<Prompt>& prompts,
                  const CheckOptions& options) {
  // In a test, the default out_dir is the test's artifact directory.
  internal::CheckRun check_run(model, prompts, internal::with_pack_defaults(options));
  internal::execute(check_run, [](const internal::CheckRun& r) {
    return internal::check_phases(r.options, r.requests.size(), r.threads_in_force);
  });
  return std::move(check_run.result);
}

}  // namespace detllm
