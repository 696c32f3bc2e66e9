// Internal: a check's verdict — every phase compared with run 0, in the order
// of the report's findings, and the category that decides pass or fail.
#ifndef DETLLM_SRC_CHECK_VERDICT_H_
#define DETLLM_SRC_CHECK_VERDICT_H_

#include <nlohmann/json.hpp>
#include <vector>

#include "check/phases.h"
#include "detllm_test/check.h"

namespace detllm::internal {

// Compares each phase's trace with run 0's, and each run's environment with
// run 0's, and sets the report's findings, notes, category and verdict.
// Returns the phase that found report.first_found(), for localisation and
// report.html; nullptr when nothing diverged.
const Phase* compare_phases(CheckResult& result, const std::vector<Phase>& phases,
                            const std::vector<nlohmann::json>& envs, int tier_effective,
                            const Tokenizer& tokenizer);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_VERDICT_H_
