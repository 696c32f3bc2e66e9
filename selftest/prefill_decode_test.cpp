// EXPECT_PREFILL_MATCHES_DECODE and CheckOptions::prefill_vs_decode: the
// built-in and TorchScript models' decoding agrees with one forward pass over
// the sequence at tier 1; an engine whose cache drops the oldest entry (a real
// bug class: an eviction off by one) fails as PREFILL_DECODE_MISMATCH.
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "detllm_test/detllm_test.h"
#include "test_models.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

const std::vector<Prompt> kPrompts = {"Choose one: A or B.", "The capital of France is"};

// An engine over the built-in model whose cache keeps the prompt's first token
// for the first step only: every later step decodes without it. Scoring a
// sequence is done right, in one pass over all of it.
std::unique_ptr<Generator> evicting_engine() {
  std::shared_ptr<Generator> inner = make_builtin_model(BuiltinConfig::tiny());
  ModelInfo info;
  info.name = "callable:evicting-cache";
  return make_callable_model(
      [inner](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        GenerationConfig one = config;
        one.max_new_tokens = 1;
        std::vector<Generation> out;
        for (const TokenIds& prompt : batch) {
          Generation g;
          TokenIds context = prompt;
          for (int step = 0; step < config.max_new_tokens; ++step) {
            const TokenIds seen = step == 0 || context.size() < 2
                                      ? context
                                      : TokenIds(context.begin() + 1, context.end());  // the bug
            const Generation next = inner->generate({seen}, one)[0];
            g.tokens.push_back(next.tokens[0]);
            g.logprobs.push_back(next.logprobs[0]);
            g.logit_margins.push_back(next.logit_margins[0]);
            context.push_back(next.tokens[0]);
          }
          out.push_back(g);
        }
        return out;
      },
      info, byte_tokenizer(),
      [inner](const TokenIds& sequence, size_t prompt_length) {
        return *inner->score(sequence, prompt_length);
      });
}

class PrefillDecodeTest : public ::testing::Test {
 protected:
  CheckOptions options(int tier = 1) {
    CheckOptions o;
    o.runs = 1;
    o.decoding.max_new_tokens = 8;
    o.prefill_vs_decode = true;
    o.determinism.tier = tier;
    o.out_dir = dir_.path();
    return o;
  }
  testing::TempDir dir_;
};

TEST_F(PrefillDecodeTest, TheBuiltinAndTorchScriptModelsMatchAtTier1) {
  auto builtin = make_builtin_model(BuiltinConfig::tiny());
  const CheckResult result = check(*builtin, kPrompts, options());
  EXPECT_TRUE(result.passed()) << result.report.headline();
  EXPECT_TRUE(result.report.prefill_compared);
  EXPECT_THAT(result.report.headline(), HasSubstr("one pass over each sequence matches"));
  EXPECT_TRUE(std::filesystem::exists(result.pack_dir + "/traces/prefill.jsonl"));
  ASSERT_EQ(result.prefill_trace.size(), 2u);
  EXPECT_EQ(result.prefill_trace[0].generated_token_ids, result.runs[0][0].generated_token_ids);
  EXPECT_PREFILL_MATCHES_DECODE(builtin, kPrompts, MaxNewTokens(8));
  EXPECT_PREFILL_MATCHES_DECODE(builtin, kPrompts, BatchSize(2), MaxNewTokens(8));

  testing::TempDir models;
  auto torchscript = load_torchscript_model(
      testing::write_torchscript_model(models.path(), testing::Defect::kNone));
  EXPECT_PREFILL_MATCHES_DECODE(torchscript, kPrompts, MaxNewTokens(8));
}

TEST_F(PrefillDecodeTest, ACacheThatEvictsTheFirstTokenIsAMismatch) {
  auto engine = evicting_engine();
  const CheckResult result = check(*engine, kPrompts, options());
  ASSERT_EQ(result.report.category, Category::kPrefillDecodeMismatch) << result.report.headline();
  ASSERT_TRUE(result.report.prefill_divergence);
  EXPECT_EQ(result.report.prefill_divergence->left_label, "decode");
  EXPECT_EQ(result.report.prefill_divergence->right_label, "prefill");
  EXPECT_GE(result.report.prefill_divergence->token_index, 1);  // step 0 still saw everything
  EXPECT_THAT(render_text(result.report),
              HasSubstr("first divergence between decoding and one pass over the sequence"));
  EXPECT_NONFATAL_FAILURE(EXPECT_PREFILL_MATCHES_DECODE(engine, kPrompts, MaxNewTokens(8)),
                          "PREFILL_DECODE_MISMATCH — one forward pass over the sequence differs");
}

TEST_F(PrefillDecodeTest, WhatCannotBeComparedIsAClearError) {
  auto inner = make_builtin_model(BuiltinConfig::tiny());
  auto unscored =
      make_callable_model([&](const std::vector<TokenIds>& batch,
                              const GenerationConfig& c) { return inner->generate(batch, c); },
                          ModelInfo{});
  try {
    check(*unscored, kPrompts, options());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot score a sequence"));
  }
  CheckOptions sampled = options();
  sampled.decoding.do_sample = true;
  EXPECT_THROW(check(*inner, kPrompts, sampled), Error);
  EXPECT_NONFATAL_FAILURE(EXPECT_PREFILL_MATCHES_DECODE(unscored, kPrompts),
                          "cannot score a sequence");
}

}  // namespace
}  // namespace detllm
