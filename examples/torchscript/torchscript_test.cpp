// Determinism assertions for a TorchScript model: any archive whose
// forward(input_ids[, attention_mask]) returns logits [B, T, V].
// The model comes from $DETLLM_TORCHSCRIPT_MODEL; without it the tests skip.
#include <cstdlib>

#include "detllm_test/detllm_test.h"

namespace {

class TorchScriptTest : public detllm::DeterminismTest {
 protected:
  void SetUp() override {
    DeterminismTest::SetUp();
    const char* path = std::getenv("DETLLM_TORCHSCRIPT_MODEL");
    if (path == nullptr) GTEST_SKIP() << "set DETLLM_TORCHSCRIPT_MODEL to a TorchScript file";
    model_ = detllm::load_torchscript_model(path);
  }
  std::unique_ptr<detllm::Generator> model_;
  std::vector<std::string> prompts_ = {"Hello, world.", "Translate to French: cat",
                                       "A longer prompt so that the others are padded."};
};

TEST_F(TorchScriptTest, IsRepeatable) {
  EXPECT_REPEATABLE(model_, prompts_, detllm::Runs(3), detllm::Tier(2));
}

TEST_F(TorchScriptTest, IsBatchInvariant) {
  EXPECT_BATCH_INVARIANT(model_, prompts_, detllm::BatchSizes({1, 2, 8}));
}

}  // namespace
