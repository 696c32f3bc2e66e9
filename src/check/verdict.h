// Internal: a check's verdict — every phase compared with run 0, in the order
// of the report's findings, and the category that decides pass or fail.
#ifndef DETLLM_SRC_CHECK_VERDICT_H_
#define DETLLM_SRC_CHECK_VERDICT_H_

#include "check/check_run.h"

namespace detllm::internal {

// Compares each phase's trace with run 0's (the golden's with run 0's), and
// each run's environment with run 0's (the golden's), and sets the report's
// findings, notes, category and verdict at the report's effective tier.
// Sets run.found to the phase that found report.first_found(), for
// localisation and report.html.
void compare_phases(CheckRun& run);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_VERDICT_H_
