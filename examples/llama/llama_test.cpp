// Determinism tests for a Llama-architecture checkpoint in a local Hugging
// Face directory: Llama 3.x, SmolLM, TinyLlama, Mistral, Qwen2/2.5 as
// save_pretrained writes them (config.json, model.safetensors or its shards,
// tokenizer.json, generation_config.json). The directory comes from
// $DETLLM_LLAMA_DIR, e.g. DETLLM_LLAMA_DIR=models/Qwen2.5-0.5B-Instruct, and
// the precision from $DETLLM_LLAMA_DTYPE (float32 unless set); without the
// directory the tests skip.
#include <cstdlib>

#include "detllm_test/detllm_test.h"

namespace {

class LlamaTest : public detllm::DeterminismTest {
 protected:
  void SetUp() override {
    DeterminismTest::SetUp();
    const char* dir = std::getenv("DETLLM_LLAMA_DIR");
    if (dir == nullptr) GTEST_SKIP() << "set DETLLM_LLAMA_DIR to a Llama-family checkpoint";
    detllm::ModelOptions options;
    if (const char* dtype = std::getenv("DETLLM_LLAMA_DTYPE")) options.dtype = dtype;
    const std::string why_not = detllm::unsupported_reason(options);
    if (!why_not.empty()) GTEST_SKIP() << why_not;
    model_ = detllm::load_model(dir, options);
  }
  std::unique_ptr<detllm::Generator> model_;
  std::vector<std::string> prompts_ = {
      "The capital of France is", "def fibonacci(n):", "Once upon a time, in a land far away,"};
};

TEST_F(LlamaTest, GreedyDecodeIsRepeatable) {
  EXPECT_REPEATABLE(model_, prompts_, detllm::Runs(3), detllm::Tier(2));
}

TEST_F(LlamaTest, ServingBatchSizesAgree) {
  EXPECT_BATCH_INVARIANT(model_, prompts_, detllm::BatchSizes({1, 2, 3}));
}

// The KV cache gives what one forward pass over the whole sequence gives.
TEST_F(LlamaTest, IncrementalDecodeMatchesAFullForwardPass) {
  EXPECT_PREFILL_MATCHES_DECODE(model_, prompts_);
}

}  // namespace
