// A deployment gate: the determinism a served model must keep before a
// rollout, checked through the server's OpenAI-compatible API (vLLM, SGLang,
// llama.cpp's server, trtllm-serve). A CI job starts (or points at) the
// deployment, runs this suite and gates on its exit status; the packs of
// failed assertions are the artifacts to upload (docs/serving.md).
//
//   export DETLLM_ENDPOINT='http://127.0.0.1:8000/v1?model=Qwen/Qwen3-1.7B'
//   export DETLLM_ENDPOINT_GOLDEN=$PWD/golden/qwen3.jsonl   # optional
//   ctest -L deployment-gate --output-on-failure
//
// Without DETLLM_ENDPOINT every test is skipped and says so.
#include <cstdlib>
#include <string>

#include "detllm_test/detllm_test.h"

namespace {

class DeploymentGate : public detllm::DeterminismTest {
 protected:
  void SetUp() override {
    DeterminismTest::SetUp();
    const char* endpoint = std::getenv("DETLLM_ENDPOINT");
    if (endpoint == nullptr || *endpoint == 0) {
      GTEST_SKIP() << "set DETLLM_ENDPOINT=http://HOST:PORT/v1[?model=NAME] to gate a deployment";
    }
    model_ = detllm::load_model(endpoint);
  }
  std::unique_ptr<detllm::Generator> model_;
  // Of different lengths, so that the server pads and batches them together.
  std::vector<std::string> prompts_ = {"Summarize: the meeting moved to Tuesday.",
                                       "Choose one: A or B.", "2 + 2 =",
                                       "Translate to French: good morning, everyone."};
};

// The same request, again and again, gives the same tokens and logprobs:
// nothing in the server (its cache, its scheduler's state) leaks between requests.
TEST_F(DeploymentGate, RepeatableRequestByRequest) {
  EXPECT_REPEATABLE(model_, prompts_, detllm::Runs(5), detllm::Tier(2));
}

// A request gets the same tokens alone and while others run beside it: the
// batch sizes are concurrency here, and the needle trials send each prompt
// among fillers of other lengths at a seeded arrival position.
TEST_F(DeploymentGate, TokensIndependentOfConcurrentLoad) {
  EXPECT_BATCH_INVARIANT(model_, prompts_, detllm::BatchSizes({1, 4, 8}));
  EXPECT_BATCH_INVARIANT(model_, prompts_, detllm::Needle(4, 8));
}

// The deployment gives the tokens the blessed one gave (record the golden
// against the reference deployment with DETLLM_UPDATE_GOLDEN=1).
TEST_F(DeploymentGate, MatchesTheBlessedDeployment) {
  const char* golden = std::getenv("DETLLM_ENDPOINT_GOLDEN");
  if (golden == nullptr || *golden == 0) GTEST_SKIP() << "no DETLLM_ENDPOINT_GOLDEN";
  EXPECT_MATCHES_GOLDEN(model_, prompts_, golden, detllm::Tier(1));
}

}  // namespace
