// What the real-server suites (llama.cpp's server, vLLM) share: their prompts
// in the toy vocabulary, what a batch that moved the logprobs looks like in
// the report, and our engine's golden of the checkpoint a server serves.
#ifndef DETLLM_SELFTEST_SERVING_SERVED_CHECKS_H_
#define DETLLM_SELFTEST_SERVING_SERVED_CHECKS_H_

#include <string>
#include <vector>

#include "detllm_test/check.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/prompt.h"

namespace detllm::testing {

// Prompts for the toy vocabulary (toy_vocabulary.py), the last long enough to
// pad the others; each under vLLM's CPU block of 128 tokens, so that no run
// is served from its prefix cache.
const std::vector<Prompt>& served_prompts();

// Batch size 8 against 1 at tier 2 failed as SCORE_VARIANCE, with both sides'
// margins, and the server's own count says the batch of 8 ran together.
void expect_logprobs_moved_under_load(const CheckResult& result);

// A golden of `model` (our engine on the checkpoint a server serves, or the
// server itself) at `path`: tier 2, 16 new tokens, calibrated. Returns the
// options that gate a deployment against it (set their tolerance).
GoldenOptions record_golden(Generator& model, const std::vector<Prompt>& prompts,
                            const std::string& path);

}  // namespace detllm::testing

#endif  // DETLLM_SELFTEST_SERVING_SERVED_CHECKS_H_
