// The real-server suites' prompts, their under-load expectation, and our engine's golden of the
// checkpoint a server serves.
#include "served_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "detllm_test/report.h"

namespace detllm::testing {

const std::vector<Prompt>& served_prompts() {
  static const std::vector<Prompt> prompts = {
      Prompt("Hello there, how are you"), Prompt("The capital of France is"), Prompt("1, 2, 3, 4,"),
      Prompt("A much longer prompt, so that the others are padded")};
  return prompts;
}

void expect_logprobs_moved_under_load(const CheckResult& result) {
  ASSERT_FALSE(result.passed()) << render_text(result.report);
  EXPECT_EQ(result.report.category, Category::kScoreVariance) << render_text(result.report);
  ASSERT_TRUE(result.report.batch_divergence);
  EXPECT_EQ(result.report.batch_divergence->right_label, "batch size 8");
  EXPECT_TRUE(result.report.batch_divergence->left_margin.has_value());
  EXPECT_TRUE(result.report.batch_divergence->right_margin.has_value());
  ASSERT_EQ(result.report.server_concurrency.size(), 1u);
  // How many of the 8 shared a step varies from run to run (vLLM once
  // averaged 1.9); that they ran together at all is what not_exercised says.
  EXPECT_THAT(result.report.server_concurrency[0],
              ::testing::MatchesRegex("batch size 8: [1-8]\\.[0-9] busy slots per decode step.*"));
  EXPECT_TRUE(result.report.not_exercised.empty()) << render_text(result.report);
}

GoldenOptions record_golden(Generator& model, const std::vector<Prompt>& prompts,
                            const std::string& path) {
  GoldenOptions record;
  record.path = path;
  record.update = true;
  record.force = true;  // a test's own golden, under CI too
  record.base.out_dir.clear();
  record.base.decoding.max_new_tokens = 16;
  record.base.determinism.tier = 2;
  check_golden(model, prompts, record);
  GoldenOptions gate = record;
  gate.update = false;
  return gate;
}

}  // namespace detllm::testing
