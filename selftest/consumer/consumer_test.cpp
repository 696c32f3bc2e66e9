// A user's existing suite: a plain GoogleTest test, and determinism tests
// added next to it.
#include <gtest/gtest.h>

#include "detllm_test/detllm_test.h"

TEST(ExistingSuite, StillRuns) { EXPECT_EQ(1 + 1, 2); }

TEST(Determinism, BuiltinModelIsRepeatableAndBatchInvariant) {
  auto model = detllm::load_model("builtin:tiny");
  const std::vector<std::string> prompts = {"Hello from a consumer project."};
  EXPECT_REPEATABLE(model, prompts, detllm::Runs(3));
  EXPECT_BATCH_INVARIANT(model, prompts, detllm::BatchSizes({1, 4}));
}
