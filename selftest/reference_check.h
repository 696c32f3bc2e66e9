// Comparing a model's greedy decoding with an independent float64 forward
// pass (the GPT-2 and Llama checkpoint tests).
#ifndef DETLLM_SELFTEST_REFERENCE_CHECK_H_
#define DETLLM_SELFTEST_REFERENCE_CHECK_H_

#include <ATen/ATen.h>

#include <functional>
#include <vector>

#include "detllm_test/generator.h"

namespace detllm::testing {

// Logits [V] of the token after `ids`, from one pass over the whole sequence.
using ReferenceLogits = std::function<at::Tensor(const TokenIds& ids)>;

// Greedy decoding of 8 tokens with `model` must pick, step by step, the
// reference's argmax, with its log-probability within 1e-4 and top-1/top-2
// margin within 1e-3 (float32 rounding); alone and in a padded batch. A prompt
// stops being compared at a near-tie below 1e-3, where rounding may pick
// either token; at least 24 steps must be compared.
void expect_greedy_matches_reference(Generator& model, const std::vector<TokenIds>& prompts,
                                     const ReferenceLogits& reference);

}  // namespace detllm::testing

#endif  // DETLLM_SELFTEST_REFERENCE_CHECK_H_
