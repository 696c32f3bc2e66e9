// detllm::gtest — detllm_test: determinism assertions for LLM inference in GoogleTest.
//
//   #include "detllm_test/detllm_test.h"
//
//   TEST(MyModelTest, GreedyDecodeIsRepeatable) {
//     auto model = detllm::load_model("builtin:tiny");
//     std::vector<std::string> prompts = {"Choose one: A or B."};
//     EXPECT_REPEATABLE(model, prompts, detllm::Runs(5));
//     EXPECT_BATCH_INVARIANT(model, prompts, detllm::BatchSizes({1, 4, 16}));
//   }
//
// Link detllm::gtest (and detllm::detllm_test_main for a ready-made main), and register
// the tests with detllm_discover_tests() from CMake.
#ifndef DETLLM_TEST_DETLLM_TEST_H_
#define DETLLM_TEST_DETLLM_TEST_H_

#include "detllm_test/assertions.h"
#include "detllm_test/check.h"
#include "detllm_test/error.h"
#include "detllm_test/fixture.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/matchers.h"
#include "detllm_test/models.h"
#include "detllm_test/openai_model.h"
#include "detllm_test/options.h"
#include "detllm_test/replay.h"

#endif  // DETLLM_TEST_DETLLM_TEST_H_
