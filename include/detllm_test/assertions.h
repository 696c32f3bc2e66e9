// detllm::gtest — determinism assertions, in GoogleTest's EXPECT_/ASSERT_ pairs.
//
//   TEST(MyModelTest, GreedyDecodeIsRepeatable) {
//     auto model = detllm::load_model("builtin:tiny");
//     std::vector<std::string> prompts = {"Choose one: A or B."};
//     EXPECT_REPEATABLE(model, prompts, detllm::Runs(5)) << "after the cache refactor";
//     EXPECT_BATCH_INVARIANT(model, prompts, detllm::BatchSizes({1, 4, 16}));
//   }
//
// `model` is a detllm::Generator, or a (smart) pointer to one; `prompts` any
// container of detllm::Prompt, std::string or detllm::TokenIds; the options are
// those of options.h, in any order. EXPECT_ records a failure and continues;
// ASSERT_ returns from the test. Each writes a repro pack under
// $DETLLM_ARTIFACTS_DIR (default "artifacts")/<Suite.Test>/<run_id>/, kept when
// the assertion fails (its path is in the message and in the test's XML as the
// property `detllm_repro_pack`) and removed when it passes, unless
// DETLLM_KEEP_ARTIFACTS=1; a failure's message is also appended to
// <Suite.Test>/failures.txt. A failure message names the category, the prompt,
// the first differing token with both sides' text, logprob and logit margin,
// the controls in force and the pack:
//
//   Value of: model is repeatable over 5 runs (tier 1, batch size 1)
//     Actual: RUN_VARIANCE_FIXED_BATCH — run 3 diverged from run 0
//       prompt #1 "Choose one: A or B." at generated token 4:
//         run 0: 317 " the"  logprob -0.521370  margin 0.0013 (near-tie)
//         run 3: 257 " a"    logprob -0.521411  margin 0.0013 (near-tie)
//       controls: deterministic_algorithms=on tf32=off CUBLAS_WORKSPACE_CONFIG=:4096:8 seed=0
//       threads=1 repro pack: artifacts/MyModelTest.GreedyDecodeIsRepeatable/<run_id>
//
// Define DETLLM_DONT_DEFINE_SHORT_NAMES to get only the DETLLM_-prefixed names.
#ifndef DETLLM_TEST_ASSERTIONS_H_
#define DETLLM_TEST_ASSERTIONS_H_

#include <gtest/gtest.h>

#include "detllm_test/check.h"
#include "detllm_test/internal/assertion_impl.h"
#include "detllm_test/options.h"

// Same tokens (tier 2: and bitwise logprobs) in every run at one batch size.
// Options: Runs (3), BatchSize (1), Tier, Strict/BestEffort, Seed, Threads,
// MaxNewTokens, Temperature, Decoding.
// The model and the prompts are quoted by the preprocessor, as EXPECT_EQ quotes
// its operands.
#define DETLLM_EXPECT_REPEATABLE(model, ...) \
  DETLLM_INTERNAL_CHECK_PROPERTY(kRun, GTEST_NONFATAL_FAILURE_, model, __VA_ARGS__)
#define DETLLM_ASSERT_REPEATABLE(model, ...) \
  DETLLM_INTERNAL_CHECK_PROPERTY(kRun, GTEST_FATAL_FAILURE_, model, __VA_ARGS__)

// Every prompt's output at each batch size (and in each needle trial) equals
// its output at the first batch size. Options: BatchSizes ({1, 4, 16}), Needle,
// Runs (1), Tier, Strict/BestEffort, Seed, Threads, MaxNewTokens, Temperature, Decoding.
#define DETLLM_EXPECT_BATCH_INVARIANT(model, ...) \
  DETLLM_INTERNAL_CHECK_PROPERTY(kBatchSize, GTEST_NONFATAL_FAILURE_, model, __VA_ARGS__)
#define DETLLM_ASSERT_BATCH_INVARIANT(model, ...) \
  DETLLM_INTERNAL_CHECK_PROPERTY(kBatchSize, GTEST_FATAL_FAILURE_, model, __VA_ARGS__)

// Every prompt's output with each intra-op CPU thread count equals its output
// with the first (a float reduction split over another number of threads can
// round differently). Options: ThreadCounts ({1, 2, 4}), BatchSize, Runs (1),
// Tier, Strict/BestEffort, Seed, MaxNewTokens, Temperature, Decoding.
#define DETLLM_EXPECT_THREAD_INVARIANT(model, ...) \
  DETLLM_INTERNAL_CHECK_PROPERTY(kThreads, GTEST_NONFATAL_FAILURE_, model, __VA_ARGS__)
#define DETLLM_ASSERT_THREAD_INVARIANT(model, ...) \
  DETLLM_INTERNAL_CHECK_PROPERTY(kThreads, GTEST_FATAL_FAILURE_, model, __VA_ARGS__)

// The logprobs a model gives its own generated tokens while decoding
// incrementally (KV cache) equal those of one forward pass over the prompt and
// those tokens: the argmax at every position (tier 1), the logprobs bitwise
// (tier 2). For models that can score a sequence (built-in, GPT-2,
// TorchScript, a callable with a ScoreFunction); greedy decoding. Options:
// BatchSize, Tier, Strict/BestEffort, Seed, Threads, MaxNewTokens.
#define DETLLM_EXPECT_PREFILL_MATCHES_DECODE(model, ...) \
  DETLLM_INTERNAL_CHECK_PROPERTY(kPrefill, GTEST_NONFATAL_FAILURE_, model, __VA_ARGS__)
#define DETLLM_ASSERT_PREFILL_MATCHES_DECODE(model, ...) \
  DETLLM_INTERNAL_CHECK_PROPERTY(kPrefill, GTEST_FATAL_FAILURE_, model, __VA_ARGS__)

// The outputs equal those a golden file recorded (golden.h): one run under the
// golden's settings (batch size, decoding, seed, tier, threads; an option
// given here wins), tokens at tier 1, bitwise logprobs at tier 2 (LogprobUlps
// for a tolerance). A failure names the first divergence and the environment
// fields that differ from the golden's recording, and keeps a pack with both
// sides. With DETLLM_UPDATE_GOLDEN=1 (or --detllm_update_golden) it records
// the golden instead and prints what changed; refused under CI. A missing
// golden fails with the command that records it.
//
//   EXPECT_MATCHES_GOLDEN(model, prompts, GOLDEN_DIR "/tiny.jsonl", detllm::Tier(2));
#define DETLLM_EXPECT_MATCHES_GOLDEN(model, ...)                                              \
  GTEST_ASSERT_(::detllm::internal::CheckMatchesGolden(                                       \
                    #model, DETLLM_INTERNAL_QUOTE_FIRST(__VA_ARGS__, ~), model, __VA_ARGS__), \
                GTEST_NONFATAL_FAILURE_)
#define DETLLM_ASSERT_MATCHES_GOLDEN(model, ...)                                              \
  GTEST_ASSERT_(::detllm::internal::CheckMatchesGolden(                                       \
                    #model, DETLLM_INTERNAL_QUOTE_FIRST(__VA_ARGS__, ~), model, __VA_ARGS__), \
                GTEST_FATAL_FAILURE_)

#ifndef DETLLM_DONT_DEFINE_SHORT_NAMES
#define EXPECT_REPEATABLE(...) DETLLM_EXPECT_REPEATABLE(__VA_ARGS__)
#define ASSERT_REPEATABLE(...) DETLLM_ASSERT_REPEATABLE(__VA_ARGS__)
#define EXPECT_BATCH_INVARIANT(...) DETLLM_EXPECT_BATCH_INVARIANT(__VA_ARGS__)
#define ASSERT_BATCH_INVARIANT(...) DETLLM_ASSERT_BATCH_INVARIANT(__VA_ARGS__)
#define EXPECT_THREAD_INVARIANT(...) DETLLM_EXPECT_THREAD_INVARIANT(__VA_ARGS__)
#define ASSERT_THREAD_INVARIANT(...) DETLLM_ASSERT_THREAD_INVARIANT(__VA_ARGS__)
#define EXPECT_PREFILL_MATCHES_DECODE(...) DETLLM_EXPECT_PREFILL_MATCHES_DECODE(__VA_ARGS__)
#define ASSERT_PREFILL_MATCHES_DECODE(...) DETLLM_ASSERT_PREFILL_MATCHES_DECODE(__VA_ARGS__)
#define EXPECT_MATCHES_GOLDEN(...) DETLLM_EXPECT_MATCHES_GOLDEN(__VA_ARGS__)
#define ASSERT_MATCHES_GOLDEN(...) DETLLM_ASSERT_MATCHES_GOLDEN(__VA_ARGS__)
#endif

#endif  // DETLLM_TEST_ASSERTIONS_H_
