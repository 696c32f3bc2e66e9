// Internal: a golden's calibration — the model's own numeric noise, measured
// when the golden is recorded, from which Tolerance::Auto() is resolved.
#ifndef DETLLM_SRC_CHECK_CALIBRATION_H_
#define DETLLM_SRC_CHECK_CALIBRATION_H_

#include <nlohmann/json.hpp>
#include <string>

#include "check/check_run.h"

namespace detllm::internal {

// What must not matter, done to the model that recorded `run` (run() with
// one phase, just finished): its rows scored in one pass per prompt (against
// the decoding's own logprobs), at other thread counts (1, 2, 4), and
// generated at another batch size (4, or 1 when it was recorded at 4 or
// more; positions up to the first token that differs). The golden header's
// "calibration": {"noise": the largest |Δ logprob|, "positions",
// "measurements": [{"varied", "max_abs_logprob_diff", "positions"}]}.
// A model that cannot score in one pass but can be teacher-forced (a
// server, one request per position) is measured doing that instead of the
// one-pass and thread-count rows; one that can do neither, at the other batch
// size alone.
nlohmann::json calibrate(CheckRun& run);

// "noise 1.2e-06 (threads 2, threads 4, batch size 4, one-pass scoring) x 10,
// floor 2e-05": how `auto` came to its numbers, for the report.
std::string describe_calibration(const nlohmann::json& calibration);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_CALIBRATION_H_
