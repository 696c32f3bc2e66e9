// Internal: the one pipeline behind run(), check() and check_golden():
// bound the options, tokenize, plan the phases, run them under the
// controls, compare, explain a failure, write the pack.
#ifndef DETLLM_SRC_CHECK_PIPELINE_H_
#define DETLLM_SRC_CHECK_PIPELINE_H_

#include <functional>
#include <vector>

#include "check/check_run.h"

namespace detllm::internal {

// The phases of a run, from its options and requests (already bounded), with
// the thread count in force under the controls.
using PhasePlanner = std::function<std::vector<Phase>(const CheckRun& run)>;

// Runs `run` to its end: run.result holds the traces, and with run.verdict
// the report and verdict; the pack is written where run.options.out_dir says
// (a check's only if it failed or keep_passing_pack). A request the backend
// cannot honour is UNSUPPORTED_REQUEST in the report (run(): the caller
// throws). Throws detllm::Error for bad input.
void execute(CheckRun& run, const PhasePlanner& plan);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_PIPELINE_H_
