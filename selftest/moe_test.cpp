// Mixture of experts: the router's choices are recorded when explain is on,
// and a router whose experts nearly tie, so that an ULP of batch noise sends a
// token to another expert, fails EXPECT_BATCH_INVARIANT naming the flip (layer,
// token, both sides' experts, the margin) in the message and every report;
// the same model with a clear router passes.
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "artifacts/file_util.h"
#include "artifacts/schema_check.h"
#include "detllm_test/detllm_test.h"
#include "explain/op_recorder.h"
#include "models/builtin_model.h"
#include "test_models.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

const std::vector<Prompt> kPrompts = {"Choose one: A or B.", "The capital of France is", "a",
                                      "Mixture of experts routes each token."};

// moe-tiny (qwen3_moe: 8 experts, 2 per token) with each layer's router rows
// pulled towards one row: row e = r0 + spread * (row e - r0). At spread 1 it
// is the preset's random router; at 1e-7 every router logit ties with every
// other to within an ULP or two, so which two experts a token gets is decided
// by rounding: the batch size's different kernels (and an expert's matmul
// having as many rows as tokens routed to it) decide it.
std::unique_ptr<Generator> moe_with_router_spread(double spread) {
  BuiltinConfig config = BuiltinConfig::moe_tiny();
  internal::BuiltinWeights weights = internal::random_weights(config);
  for (internal::BuiltinWeights::Block& block : weights.blocks) {
    at::Tensor& router = block.router_weight;
    const at::Tensor first = router.narrow(0, 0, 1);
    router = first + spread * (router - first);
  }
  return std::make_unique<internal::BuiltinModel>(config, ModelOptions{}, std::move(weights));
}

struct Models {
  std::unique_ptr<Generator> near_tie = moe_with_router_spread(1e-7);
  std::unique_ptr<Generator> clear = moe_with_router_spread(1.0);
};
Models& models() {
  static Models m;
  return m;
}

TEST(MoeRouting, TheRecorderSeesEveryLayersChoiceOnlyWhenObserving) {
  Generator& model = *models().clear;
  const TokenIds ids = model.tokenizer().encode("Hello");
  GenerationConfig config;
  config.max_new_tokens = 3;
  std::vector<internal::RoutingRecord> routing;
  std::vector<size_t> starts;
  std::vector<Generation> observed;
  {
    internal::OpRecorder recorder;
    observed = model.generate({ids, ids}, config);
    routing = recorder.take_routing();
    starts = recorder.routing_pass_starts();
  }
  // 3 forward passes (the prefill and 2 steps) x 2 sparse layers.
  ASSERT_EQ(routing.size(), 6u);
  EXPECT_EQ(starts, (std::vector<size_t>{0, 2, 4}));
  EXPECT_EQ(routing[0].experts.sizes(), (at::IntArrayRef{2 * 5, 2}));  // batch 2 x 5 prompt tokens
  EXPECT_EQ(routing[2].experts.sizes(), (at::IntArrayRef{2, 2}));      // one token per row
  for (const internal::RoutingRecord& r : routing) {
    EXPECT_TRUE(at::all(r.experts.select(1, 0) < r.experts.select(1, 1)).item<bool>());
    EXPECT_TRUE(at::all(r.margins >= 0).item<bool>());
  }
  // Observing changes nothing the model computes.
  const std::vector<Generation> again = model.generate({ids, ids}, config);
  ASSERT_EQ(again.size(), observed.size());
  for (size_t row = 0; row < again.size(); ++row) {
    EXPECT_EQ(again[row].tokens, observed[row].tokens);
    EXPECT_EQ(again[row].logprobs, observed[row].logprobs);
  }
}

TEST(MoeRouting, AClearRouterIsBatchInvariant) {
  EXPECT_BATCH_INVARIANT(*models().clear, kPrompts, BatchSizes({1, 4}), MaxNewTokens(8));
}

// The negative control: the near-tie router's batch variance, found and
// named as a routing flip, before the first differing op.
TEST(MoeRouting, ANearTieRouterFlipsAnExpertWithTheBatchSizeAndIsNamed) {
  testing::TempDir dir;
  CheckOptions options;
  options.runs = 1;
  options.vary_batch = {1, 4};
  options.decoding.max_new_tokens = 8;
  options.out_dir = dir.path();
  const CheckResult result = check(*models().near_tie, kPrompts, options);
  ASSERT_EQ(result.report.category, Category::kBatchVariance) << render_text(result.report);
  ASSERT_TRUE(result.report.expert_routing) << render_text(result.report);
  const ExpertRoutingDivergence& flip = *result.report.expert_routing;
  EXPECT_NE(flip.left_experts, flip.right_experts);
  EXPECT_EQ(flip.left_experts.size(), 2u);
  EXPECT_GE(flip.layer, 0);
  EXPECT_LT(flip.layer, 2);
  // The near-tie: the margin is a few ULPs of the router logits, not a real preference.
  EXPECT_LT(std::min(flip.left_margin, flip.right_margin), 1e-5);
  // Named in the text, before the first differing op, and in the pack's files.
  const std::string text = render_text(result.report);
  EXPECT_THAT(text, HasSubstr("expert routing differed at layer " + std::to_string(flip.layer)));
  ASSERT_TRUE(result.report.first_divergent_op) << text;
  // The two batches' op sequences align (the per-expert ops, whose number
  // depends on the batch, are left out): the op named is a real difference.
  EXPECT_EQ(result.report.first_divergent_op->detail, "") << text;
  EXPECT_LT(text.find("expert routing differed"), text.find("first differing op"));
  const auto read = [&](const std::string& name) {
    std::ifstream in(result.pack_dir + "/" + name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  EXPECT_THAT(read("report.txt"), HasSubstr("expert routing differed at layer"));
  EXPECT_THAT(read("report.html"), HasSubstr("expert routing differed at layer"));
  const nlohmann::json report = nlohmann::json::parse(read("report.json"));
  EXPECT_EQ(report["details"]["expert_routing"]["layer"], flip.layer);
  EXPECT_EQ(report["details"]["expert_routing"]["left_experts"].size(), 2u);
  EXPECT_THAT(internal::validate_pack(result.pack_dir), ::testing::IsEmpty());
  // And report.json reads back to the same flip.
  const Report back = report_from_json(report);
  ASSERT_TRUE(back.expert_routing);
  EXPECT_EQ(back.expert_routing->right_experts, flip.right_experts);
}

TEST(MoeRouting, TheAssertionMessageNamesTheRoutingFlip) {
  EXPECT_NONFATAL_FAILURE(
      EXPECT_BATCH_INVARIANT(*models().near_tie, kPrompts, BatchSizes({1, 4}), MaxNewTokens(8)),
      "expert routing differed at layer");
}

}  // namespace
}  // namespace detllm
