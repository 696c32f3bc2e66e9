// detllm::gtest — gMock matchers on a check's result and on two generations:
//
//   detllm::CheckResult result = detllm::check(*model, prompts, options);
//   EXPECT_THAT(result, detllm::IsRepeatable());
//   EXPECT_THAT(result, detllm::HasCategory(detllm::Category::kBatchVariance));
//   EXPECT_THAT(result, detllm::DivergesAt(/*prompt=*/1, /*token=*/4));
//   EXPECT_THAT(generation, detllm::LogprobsWithinUlps(reference, 4));
//
// They compose with gMock's own (Not, AllOf, ...), and explain a mismatch:
// "which diverges at prompt #1, generated token 4 (run 0: 317, run 3: 257)".
#ifndef DETLLM_TEST_MATCHERS_H_
#define DETLLM_TEST_MATCHERS_H_

#include <gmock/gmock.h>

#include <cstdint>

#include "detllm_test/check.h"
#include "detllm_test/diff.h"
#include "detllm_test/generator.h"

namespace detllm {

// The check passed.
::testing::Matcher<const CheckResult&> Passes();
// No divergence between runs at the fixed batch size.
::testing::Matcher<const CheckResult&> IsRepeatable();
// No divergence between batch sizes or in needle trials.
::testing::Matcher<const CheckResult&> IsBatchInvariant();
// No divergence between intra-op CPU thread counts (vary_threads).
::testing::Matcher<const CheckResult&> IsThreadInvariant();
// The report's category is `category`.
::testing::Matcher<const CheckResult&> HasCategory(Category category);
// The first divergence (between runs, else between batch sizes) is at prompt
// `prompt_index`, generated token `token_index`.
::testing::Matcher<const CheckResult&> DivergesAt(int prompt_index, int token_index);

// The generation has exactly the tokens of `expected`.
::testing::Matcher<const Generation&> TokensEqual(const Generation& expected);
// The same logprobs bit for bit.
::testing::Matcher<const Generation&> LogprobsEqual(const Generation& expected);
// Logprobs within `max_ulps` float32 units in the last place of `expected`'s.
::testing::Matcher<const Generation&> LogprobsWithinUlps(const Generation& expected,
                                                         int64_t max_ulps);

// Prints a generation's tokens in gMock messages.
void PrintTo(const Generation& generation, std::ostream* os);
// Prints a check result's headline in gMock messages.
void PrintTo(const CheckResult& result, std::ostream* os);

}  // namespace detllm

#endif  // DETLLM_TEST_MATCHERS_H_
