// What the real-server suites (llama.cpp's server, vLLM) share: their prompts
// in the toy vocabulary, and what a batch that moved the logprobs looks like
// in the report.
#ifndef DETLLM_SELFTEST_SERVING_SERVED_CHECKS_H_
#define DETLLM_SELFTEST_SERVING_SERVED_CHECKS_H_

#include <vector>

#include "detllm_test/check.h"
#include "detllm_test/prompt.h"

namespace detllm::testing {

// Prompts for the toy vocabulary (toy_vocabulary.py), the last long enough to
// pad the others; each under vLLM's CPU block of 128 tokens, so that no run
// is served from its prefix cache.
const std::vector<Prompt>& served_prompts();

// Batch size 8 against 1 at tier 2 failed as SCORE_VARIANCE, with both sides'
// margins, and the server's own count says the batch of 8 ran together.
void expect_logprobs_moved_under_load(const CheckResult& result);

}  // namespace detllm::testing

#endif  // DETLLM_SELFTEST_SERVING_SERVED_CHECKS_H_
