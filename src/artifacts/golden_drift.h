// Internal: a golden compared with a tolerance — the candidate's scores of
// the golden's own tokens (teacher forcing) measured position by position
// against the golden's, judged, and written to report.json and report.txt.
#ifndef DETLLM_SRC_ARTIFACTS_GOLDEN_DRIFT_H_
#define DETLLM_SRC_ARTIFACTS_GOLDEN_DRIFT_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "detllm_test/report.h"
#include "detllm_test/tolerance.h"
#include "detllm_test/trace.h"

namespace detllm::internal {

// `golden`'s rows against `candidate`'s, row by row: each candidate row holds
// the golden row's tokens scored by the candidate (its scores the logprobs of
// the golden's tokens, its generated_token_ids its top-1 at each position,
// its logit_margins its own). `tolerance` is resolved (not kAuto without
// numbers); at tier 1 (`compare_logprobs` false) only the top-1 rule applies.
// Throws detllm::Error when the rows do not line up (another prompt, other
// token counts) or a side lacks logprobs.
GoldenDrift measure_drift(const Trace& golden, const Trace& candidate, const Tolerance& tolerance,
                          bool compare_logprobs);

// The first failing position as a GOLDEN_MISMATCH divergence: prompt, token,
// both sides' logprob of the golden token and their margins, and whether it
// is a confident flip (a regression) or drift beyond the tolerance.
Divergence drift_divergence(const GoldenDrift& drift, const Trace& golden);

// report.json's details.golden_drift (null when none), and back; throws
// detllm::Error for a malformed one.
nlohmann::json golden_drift_json(const std::optional<GoldenDrift>& drift);
std::optional<GoldenDrift> golden_drift_from_json(const nlohmann::json& details);

// A passing comparison that was not exact, as a note: "within tolerance
// logprob=2e-05,margin=4e-05: largest drift 3.1e-06 at prompt #1, generated
// token 5; 1 benign flip at a near-tie".
std::string drift_note(const GoldenDrift& drift);

// report.txt's lines: the tolerance, the largest drift and where, the benign
// flips with their margins; each line starts with `pad`.
std::string render_golden_drift(const GoldenDrift& drift, const std::string& pad);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_ARTIFACTS_GOLDEN_DRIFT_H_
