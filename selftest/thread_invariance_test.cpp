// EXPECT_THREAD_INVARIANT and CheckOptions::vary_threads: a correct model
// passes; a model whose output follows a float reduction over 4M elements (its
// rounding depends on how many threads split it) fails as THREAD_VARIANCE.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <torch/version.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "detllm_test/detllm_test.h"
#include "test_models.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

const std::vector<Prompt> kPrompts = {"Choose one: A or B.", "The capital of France is"};

// 4M floats uniform in [-1, 1) from a fixed seed: their float sum differs in
// the last bits between 1 and 2 intra-op threads with Debian's libtorch 1.13.
at::Tensor reduction_input() {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> values(4 << 20);
  for (float& v : values) v = uniform(rng);
  return at::from_blob(values.data(), {static_cast<int64_t>(values.size())}, at::kFloat).clone();
}

float sum_with_threads(const at::Tensor& values, int threads) {
  const int before = at::get_num_threads();
  at::set_num_threads(threads);
  const float sum = values.sum().item<float>();
  at::set_num_threads(before);
  return sum;
}

// Generates tokens from the low bits of that sum: the same on every call at
// one thread count, different at another (the reduction's order).
std::unique_ptr<Generator> reduction_model() {
  auto values = std::make_shared<at::Tensor>(reduction_input());
  ModelInfo info;
  info.name = "callable:sum-of-4M";
  return make_callable_model(
      [values](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        const float sum = values->sum().item<float>();
        uint32_t bits;
        std::memcpy(&bits, &sum, sizeof bits);
        std::vector<Generation> out(batch.size());
        for (Generation& g : out) {
          for (int t = 0; t < config.max_new_tokens; ++t) {
            g.tokens.push_back(static_cast<int64_t>((bits >> (t % 8)) & 0xff));
            g.logprobs.push_back(-1.0);
            g.logit_margins.push_back(1.0);
          }
        }
        return out;
      },
      info);
}

class ThreadInvarianceTest : public ::testing::Test {
 protected:
  CheckOptions options() {
    CheckOptions o;
    o.runs = 2;
    o.decoding.max_new_tokens = 8;
    o.vary_threads = {1, 2};
    o.determinism.threads = 1;
    o.out_dir = dir_.path();
    return o;
  }
  testing::TempDir dir_;
};

// The negative control's premise, checked rather than assumed.
TEST_F(ThreadInvarianceTest, TheReductionReallyDependsOnTheThreadCount) {
  const at::Tensor values = reduction_input();
  EXPECT_EQ(sum_with_threads(values, 1), sum_with_threads(values, 1));
#if TORCH_VERSION_MAJOR < 2
  EXPECT_NE(sum_with_threads(values, 1), sum_with_threads(values, 2));  // seen on 1.13
#endif
}

bool sum_depends_on_threads() {
  const at::Tensor values = reduction_input();
  return sum_with_threads(values, 1) != sum_with_threads(values, 2);
}

TEST_F(ThreadInvarianceTest, TheBuiltinModelIsThreadInvariantAtTier1) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  const CheckResult result = check(*model, kPrompts, options());
  EXPECT_TRUE(result.passed()) << result.report.headline();
  EXPECT_EQ(result.report.thread_counts, (std::vector<int>{1, 2}));
  EXPECT_THAT(result.report.headline(), HasSubstr("thread counts 1, 2 agree"));
  EXPECT_TRUE(std::filesystem::exists(result.pack_dir + "/traces/threads_2.jsonl"));
  EXPECT_THAT(result, IsThreadInvariant());
  EXPECT_THREAD_INVARIANT(model, kPrompts, ThreadCounts({1, 2}), MaxNewTokens(8));
}

TEST_F(ThreadInvarianceTest, AReductionOverThreadsIsThreadVariance) {
  if (!sum_depends_on_threads()) GTEST_SKIP() << "this libtorch sums alike with 1 and 2 threads";
  auto model = reduction_model();
  const CheckResult result = check(*model, kPrompts, options());
  ASSERT_EQ(result.report.category, Category::kThreadVariance) << result.report.headline();
  EXPECT_THAT(result, ::testing::Not(IsThreadInvariant()));
  EXPECT_THAT(result, IsRepeatable());  // the same at one thread count
  EXPECT_THAT(result.report.headline(),
              HasSubstr("THREAD_VARIANCE — threads 2 diverged from threads 1"));
  EXPECT_THAT(render_text(result.report), HasSubstr("first divergence between thread counts"));
  EXPECT_NONFATAL_FAILURE(
      EXPECT_THREAD_INVARIANT(model, kPrompts, ThreadCounts({1, 2}), MaxNewTokens(8)),
      "is thread invariant at thread counts 1, 2");
  EXPECT_NONFATAL_FAILURE(
      EXPECT_THREAD_INVARIANT(model, kPrompts, ThreadCounts({1, 2}), MaxNewTokens(8)),
      "THREAD_VARIANCE — threads 2 diverged from threads 1");
  // The pack replays the same finding.
  EXPECT_THROW(replay(result.pack_dir), Error);  // a callable: the model must be given
}

// The same sum inside a TorchScript model: localisation re-runs both thread
// counts and names the sum as the first op that differs.
TEST_F(ThreadInvarianceTest, LocalisationNamesTheSumThatDependsOnTheThreadCount) {
  const at::Tensor values = at::sin(at::arange(4194304).to(at::kFloat) * 0.7);  // the model's
  if (sum_with_threads(values, 1) == sum_with_threads(values, 2)) {
    GTEST_SKIP() << "this libtorch sums these alike with 1 and 2 threads";
  }
  testing::TempDir dir;
  auto model = load_torchscript_model(
      testing::write_torchscript_model(dir.path(), testing::Defect::kThreadSum));
  CheckOptions o = options();
  o.determinism.tier = 2;  // the nudge shows in the logprobs
  o.decoding.max_new_tokens = 2;
  const CheckResult result = check(*model, kPrompts, o);
  ASSERT_FALSE(result.passed());
  ASSERT_TRUE(result.report.thread_divergence) << result.report.headline();
  ASSERT_TRUE(result.report.first_divergent_op) << ::testing::PrintToString(result.report.notes);
  EXPECT_EQ(result.report.first_divergent_op->op, "aten::sum");
  EXPECT_GT(result.report.first_divergent_op->ops_equal_before, 10);  // the transformer agrees
}

TEST_F(ThreadInvarianceTest, AThreadCountBelowOneIsBadInput) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  CheckOptions o = options();
  o.vary_threads = {1, 0};
  EXPECT_THROW(check(*model, kPrompts, o), Error);
}

}  // namespace
}  // namespace detllm
