// A release gate: the determinism guarantees a model must keep before it ships.
// A CI job runs this suite and gates on its exit status (0: ship); the packs of
// failed assertions are the artifacts to upload.
//
//   DETLLM_RELEASE_MODEL=models/candidate.pt ctest -L release-gate --output-on-failure
//
// Strict mode: a guarantee the backend cannot enforce fails instead of being
// quietly lowered.
#include <cstdlib>

#include "detllm_test/detllm_test.h"

namespace {

class ReleaseGate : public detllm::DeterminismTest {
 protected:
  void SetUp() override {
    DeterminismTest::SetUp();
    const char* spec = std::getenv("DETLLM_RELEASE_MODEL");
    model_ = detllm::load_model(spec != nullptr ? spec : "builtin:tiny");
  }
  std::unique_ptr<detllm::Generator> model_;
  std::vector<std::string> prompts_ = {"Summarize: the meeting moved to Tuesday.",
                                       "Choose one: A or B.", "2 + 2 ="};
};

TEST_F(ReleaseGate, Tier2RepeatableAtServingBatchSize) {
  ASSERT_REPEATABLE(model_, prompts_, detllm::Runs(5), detllm::BatchSize(8), detllm::Tier(2),
                    detllm::Strict());
}

TEST_F(ReleaseGate, TokensIndependentOfBatching) {
  EXPECT_BATCH_INVARIANT(model_, prompts_, detllm::BatchSizes({1, 8, 32}), detllm::Strict());
  EXPECT_BATCH_INVARIANT(model_, prompts_, detllm::Needle(8, 32), detllm::Strict());
}

}  // namespace
