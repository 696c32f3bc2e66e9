// Internal: one check as it runs — what was asked, the requests, the phases,
// the environments and the findings — handed from step to step: bounds,
// phases, runner, verdict, explain, pack. run(), check() and check_golden()
// are this one pipeline with other phases.
#ifndef DETLLM_SRC_CHECK_CHECK_RUN_H_
#define DETLLM_SRC_CHECK_CHECK_RUN_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "check/batch_plan.h"
#include "check/phases.h"
#include "detllm_test/check.h"
#include "detllm_test/golden.h"
#include "detllm_test/tolerance.h"

namespace detllm::internal {

// The golden a golden check compares with, and how: its rows are the left
// side of the golden phase, read from the file, never run.
struct GoldenSide {
  std::string path;
  Golden file;  // rows, the recording's env snapshot, op fingerprints, calibration
  int64_t logprob_ulps = 0;
  // Not exact: run 0 is the golden's tokens scored by the model (teacher
  // forcing), judged by this (resolved) tolerance.
  Tolerance tolerance;
  std::string asked = "exact";  // the tolerance as given ("auto", "logprob=...")
  std::string calibration;      // how `auto` was measured, for the report
  std::string other_model;      // "golden '...' was recorded for model ..."; "": this model's
};

struct CheckRun {
  CheckRun(Generator& model, const std::vector<Prompt>& prompts, CheckOptions options)
      : model(model), prompts(prompts), options(std::move(options)) {}

  Generator& model;
  const std::vector<Prompt>& prompts;
  CheckOptions options;
  // run(): one phase, no verdict, no report; the pack has no report files.
  bool verdict = true;
  std::vector<Request> requests;
  std::vector<Phase> phases;         // phases.front() is run 0
  int threads_in_force = 0;          // intra-op threads under the controls
  std::vector<nlohmann::json> envs;  // one per run; one alone when nothing ran
  GoldenSide* golden = nullptr;
  const Phase* found = nullptr;  // the phase of report.first_found(); nullptr: none
  CheckResult result;
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_CHECK_RUN_H_
