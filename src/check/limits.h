// Internal: the bounds on what one run or check may ask for, checked before
// anything runs (docs/assertions.md#limits).
#ifndef DETLLM_SRC_CHECK_LIMITS_H_
#define DETLLM_SRC_CHECK_LIMITS_H_

#include <vector>

#include "check/batch_plan.h"
#include "detllm_test/check.h"

namespace detllm::internal {

// Throws detllm::Error naming the first option of a run that is out of bounds:
// no prompts, a batch size, max_new_tokens, sampling settings, the tier.
void validate_run(const std::vector<Prompt>& prompts, const RunOptions& options);

// validate_run(), and a check's own options: runs, needle trials, the batch
// sizes and thread counts to vary, prefill vs decode with sampling.
void validate_check(const std::vector<Prompt>& prompts, const CheckOptions& options);

// Throws if a batch of `batch_size` of the longest request, with the tokens
// it will generate, holds more token positions than are supported.
void check_token_positions(const std::vector<Request>& requests, int batch_size,
                           const GenerationConfig& decoding);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_LIMITS_H_
