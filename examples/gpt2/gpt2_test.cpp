// Determinism tests for a GPT-2-family checkpoint in a local Hugging Face
// directory (gpt2, distilgpt2 or a fine-tune of them): config.json,
// model.safetensors, vocab.json and merges.txt. The directory comes from
// $DETLLM_GPT2_DIR, e.g. DETLLM_GPT2_DIR=models/distilgpt2; without it the
// tests skip.
#include <cstdlib>

#include "detllm_test/detllm_test.h"

namespace {

class Gpt2Test : public detllm::DeterminismTest {
 protected:
  void SetUp() override {
    DeterminismTest::SetUp();
    const char* dir = std::getenv("DETLLM_GPT2_DIR");
    if (dir == nullptr) GTEST_SKIP() << "set DETLLM_GPT2_DIR to a GPT-2 checkpoint directory";
    model_ = detllm::load_model(dir);
  }
  std::unique_ptr<detllm::Generator> model_;
  std::vector<std::string> prompts_ = {
      "The capital of France is", "def fibonacci(n):", "Once upon a time, in a land far away,"};
};

TEST_F(Gpt2Test, GreedyDecodeIsRepeatable) {
  EXPECT_REPEATABLE(model_, prompts_, detllm::Runs(3), detllm::Tier(2));
}

TEST_F(Gpt2Test, ServingBatchSizesAgree) {
  EXPECT_BATCH_INVARIANT(model_, prompts_, detllm::BatchSizes({1, 4, 8}));
}

TEST_F(Gpt2Test, TokenizerRoundTripsThePrompts) {
  for (const std::string& prompt : prompts_) {
    EXPECT_EQ(model_->tokenizer().decode(model_->tokenizer().encode(prompt)), prompt);
  }
}

}  // namespace
