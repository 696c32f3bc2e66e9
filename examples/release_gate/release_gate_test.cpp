// A release gate: the determinism guarantees a model must keep before it ships.
// A CI job runs this suite and gates on its exit status (0: ship); the packs of
// failed assertions are the artifacts to upload.
//
//   export DETLLM_RELEASE_MODEL=models/candidate.pt
//   export DETLLM_RELEASE_GOLDEN=$PWD/golden/candidate.jsonl
//   ctest -L release-gate --output-on-failure
//
// The golden files hold the last blessed build's outputs (docs/release-gating.md):
// golden/tiny.jsonl for the built-in model, committed beside this file; record
// your own on the reference machine with DETLLM_UPDATE_GOLDEN=1 and commit it.
//
// Strict mode: a guarantee the backend cannot enforce fails instead of being
// quietly lowered.
#include <cstdlib>
#include <string>

#include "detllm_test/detllm_test.h"

namespace {

class ReleaseGate : public detllm::DeterminismTest {
 protected:
  void SetUp() override {
    DeterminismTest::SetUp();
    const char* spec = std::getenv("DETLLM_RELEASE_MODEL");
    model_ = detllm::load_model(spec != nullptr ? spec : "builtin:tiny");
    const char* golden = std::getenv("DETLLM_RELEASE_GOLDEN");
    golden_ = golden != nullptr ? golden : GOLDEN_DIR "/tiny.jsonl";
  }
  std::unique_ptr<detllm::Generator> model_;
  std::string golden_;
  std::vector<std::string> prompts_ = {"Summarize: the meeting moved to Tuesday.",
                                       "Choose one: A or B.", "2 + 2 ="};
};

TEST_F(ReleaseGate, Tier2RepeatableAtServingBatchSize) {
  ASSERT_REPEATABLE(model_, prompts_, detllm::Runs(5), detllm::BatchSize(8), detllm::Tier(2),
                    detllm::Strict());
}

// The candidate produces the tokens the last blessed build produced (tier 1:
// robust to a BLAS or libtorch change that only moves logprobs; Tier(2) pins
// the logprobs too). A mismatch names the environment changes behind it.
TEST_F(ReleaseGate, MatchesTheLastBlessedBuild) {
  EXPECT_MATCHES_GOLDEN(model_, prompts_, golden_, detllm::Tier(1));
}

TEST_F(ReleaseGate, TokensIndependentOfBatching) {
  EXPECT_BATCH_INVARIANT(model_, prompts_, detllm::BatchSizes({1, 8, 32}), detllm::Strict());
  EXPECT_BATCH_INVARIANT(model_, prompts_, detllm::Needle(8, 32), detllm::Strict());
}

}  // namespace
