// Quickstart: determinism assertions for the built-in reference transformer.
// Copy this file and swap in your own model (detllm::load_model("model.pt"),
// or detllm::make_callable_model for any other engine).
#include "detllm_test/detllm_test.h"

namespace {

// The fixture applies the determinism controls for the whole test, so that the
// model is built and run under them, and restores them afterwards.
class QuickstartTest : public detllm::DeterminismTest {
 protected:
  std::unique_ptr<detllm::Generator> model_ = detllm::load_model("builtin:tiny");
  std::vector<std::string> prompts_ = {"Choose one: A or B.", "The capital of France is",
                                       "def fibonacci(n):"};
};

TEST_F(QuickstartTest, GreedyDecodeIsRepeatable) {
  EXPECT_REPEATABLE(model_, prompts_, detllm::Runs(5));
}

TEST_F(QuickstartTest, LogprobsAreBitwiseRepeatable) {
  EXPECT_REPEATABLE(model_, prompts_, detllm::Runs(3), detllm::Tier(2));
}

TEST_F(QuickstartTest, ServingBatchSizesAgree) {
  EXPECT_BATCH_INVARIANT(model_, prompts_, detllm::BatchSizes({1, 4, 16}));
}

TEST_F(QuickstartTest, PromptsAgreeWhereverTheServerPutsThem) {
  EXPECT_BATCH_INVARIANT(model_, prompts_, detllm::Needle(/*trials=*/4, /*max_batch_size=*/16));
}

TEST_F(QuickstartTest, SeededSamplingIsRepeatable) {
  detllm::GenerationConfig sampling;
  sampling.do_sample = true;
  sampling.temperature = 0.8;
  sampling.top_p = 0.9;
  EXPECT_REPEATABLE(model_, prompts_, detllm::Decoding(sampling), detllm::Seed(42));
}

// The same through a check() result and gMock matchers.
TEST_F(QuickstartTest, MatchersReadTheResult) {
  detllm::CheckOptions options;
  options.vary_batch = {1, 8};
  options.out_dir.clear();  // no pack
  const detllm::CheckResult result =
      detllm::check(*model_, {prompts_.begin(), prompts_.end()}, options);
  EXPECT_THAT(result, ::testing::AllOf(detllm::IsRepeatable(), detllm::IsBatchInvariant()));
}

}  // namespace
