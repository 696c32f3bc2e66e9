// The tolerance of a teacher-forced golden comparison and the drift it
// judges, on hand-made rows: each rule, each failure kind, the report's
// round trip and its schema.
#include "detllm_test/tolerance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "artifacts/golden_drift.h"
#include "detllm_test/error.h"
#include "detllm_test/report.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

TEST(ToleranceTest, ParsesWhatTheCliTakesAndPrintsItBack) {
  EXPECT_EQ(Tolerance::parse("exact").kind, Tolerance::Kind::kExact);
  EXPECT_EQ(Tolerance::parse("auto").kind, Tolerance::Kind::kAuto);
  const Tolerance given = Tolerance::parse("logprob=1e-4");
  EXPECT_EQ(given.kind, Tolerance::Kind::kGiven);
  EXPECT_DOUBLE_EQ(given.logprob, 1e-4);
  EXPECT_DOUBLE_EQ(given.margin, 2e-4);  // twice the logprob's, when not given
  const Tolerance both = Tolerance::parse("logprob=0.001,margin=0.05");
  EXPECT_DOUBLE_EQ(both.margin, 0.05);
  // Printed so that replay reads back the same numbers.
  EXPECT_EQ(Tolerance::parse(both.to_string()).logprob, both.logprob);
  EXPECT_EQ(Tolerance::parse(Tolerance::Given(1.0 / 3).to_string()).logprob, 1.0 / 3);
  for (const char* bad : {"", "loose", "logprob=", "logprob=-1", "logprob=nan", "logprob=1e-4,",
                          "logprob=1,margin=x", "logprob=1,tokens=2", "logprob=1x"}) {
    EXPECT_THROW(Tolerance::parse(bad), Error) << bad;
  }
}

TEST(ToleranceTest, AutoIsTheCalibratedNoiseTimesTheFactorNeverBelowTheFloor) {
  const Tolerance quiet = resolve_auto({{"noise", 0.0}}, "g");
  EXPECT_DOUBLE_EQ(quiet.logprob, kAutoFloor);
  const Tolerance noisy = resolve_auto({{"noise", 1e-3}}, "g");
  EXPECT_DOUBLE_EQ(noisy.logprob, kAutoFactor * 1e-3);
  EXPECT_DOUBLE_EQ(noisy.margin, 2 * kAutoFactor * 1e-3);
  EXPECT_EQ(noisy.kind, Tolerance::Kind::kAuto);
  for (const nlohmann::json& bad :
       {nlohmann::json(), nlohmann::json::object(), nlohmann::json{{"noise", "1"}},
        nlohmann::json{{"noise", -1}}}) {
    try {
      resolve_auto(bad, "golden/x.jsonl");
      ADD_FAILURE() << bad.dump();
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("holds no calibration"));
    }
  }
}

// One prompt's row: its generated tokens, their logprobs and margins.
TraceRow row(std::vector<int64_t> tokens, std::vector<double> logprobs,
             std::vector<double> margins) {
  TraceRow r;
  r.prompt_index = 0;
  r.input_token_ids = {1, 2, 3};
  r.generated_token_ids = std::move(tokens);
  r.scores = std::move(logprobs);
  r.logit_margins = std::move(margins);
  return r;
}

const Trace kGolden = {row({5, 6, 7, 8}, {-0.1, -0.5, -1.0, -0.2}, {3.0, 0.00001, 2.0, 1.0})};

TEST(GoldenDriftTest, BitForBitIsExact) {
  const GoldenDrift d =
      internal::measure_drift(kGolden, kGolden, Tolerance::Given(1e-4), /*compare_logprobs=*/true);
  EXPECT_TRUE(d.exact);
  EXPECT_FALSE(d.failure);
  EXPECT_EQ(d.positions, 4);
}

TEST(GoldenDriftTest, DriftWithinToleranceAndANearTieFlipPass) {
  // Token 1 flips where the golden's margin was 1e-5: benign. Token 3 moves 5e-5.
  const Trace now = {row({5, 9, 7, 8}, {-0.1, -0.5, -1.0, -0.20005}, {3.0, 0.00001, 2.0, 1.0})};
  const GoldenDrift d = internal::measure_drift(kGolden, now, Tolerance::Given(1e-4), true);
  EXPECT_FALSE(d.exact);
  EXPECT_FALSE(d.failure);
  ASSERT_EQ(d.benign_flips.size(), 1u);
  EXPECT_EQ(d.benign_flips[0].token, 1);
  ASSERT_TRUE(d.largest);
  EXPECT_EQ(d.largest->token, 3);
  EXPECT_NEAR(d.largest->drift, 5e-5, 1e-12);
  EXPECT_THAT(internal::drift_note(d), HasSubstr("1 benign flip"));
  EXPECT_THAT(internal::render_golden_drift(d, ""), HasSubstr("benign flips"));
}

TEST(GoldenDriftTest, AFlipAtAConfidentMarginIsARegression) {
  const Trace now = {row({5, 6, 9, 8}, {-0.1, -0.5, -1.00001, -0.2}, {3.0, 0.00001, 0.5, 1.0})};
  const GoldenDrift d = internal::measure_drift(kGolden, now, Tolerance::Given(1e-4), true);
  ASSERT_TRUE(d.failure);
  EXPECT_EQ(d.failure->token, 2);
  EXPECT_EQ(d.failure_kind, "confident flip");
  const Divergence div = internal::drift_divergence(d, kGolden);
  EXPECT_EQ(div.category, Category::kGoldenMismatch);
  EXPECT_EQ(div.token_index, 2);
  EXPECT_EQ(*div.left_margin, 2.0);
  EXPECT_THAT(div.detail, HasSubstr("a confident flip (a regression)"));
}

TEST(GoldenDriftTest, DriftBeyondToleranceFailsAndTier1AssertsOnlyTokens) {
  const Trace now = {row({5, 6, 7, 8}, {-0.1, -0.5, -1.01, -0.2}, {3.0, 0.00001, 2.0, 1.0})};
  const GoldenDrift d = internal::measure_drift(kGolden, now, Tolerance::Given(1e-4), true);
  ASSERT_TRUE(d.failure);
  EXPECT_EQ(d.failure_kind, "drift");
  EXPECT_THAT(internal::drift_divergence(d, kGolden).detail, HasSubstr("drift beyond tolerance"));
  EXPECT_FALSE(internal::measure_drift(kGolden, now, Tolerance::Given(1e-4), false).failure);
}

TEST(GoldenDriftTest, RowsThatDoNotLineUpAreRefused) {
  Trace short_row = kGolden;
  short_row[0].generated_token_ids.pop_back();
  EXPECT_THROW(internal::measure_drift(kGolden, short_row, Tolerance::Given(1), true), Error);
  Trace no_scores = kGolden;
  no_scores[0].scores.reset();
  EXPECT_THROW(internal::measure_drift(kGolden, no_scores, Tolerance::Given(1), true), Error);
  EXPECT_THROW(internal::measure_drift(kGolden, {}, Tolerance::Given(1), true), Error);
}

TEST(GoldenDriftTest, ReportJsonRoundTripsAndRefusesMalformedDrift) {
  const Trace now = {row({5, 9, 9, 8}, {-0.1, -0.5, -1.0, -0.2}, {3.0, 0.00001, 2.0, NAN})};
  Report report;
  report.golden_drift = internal::measure_drift(kGolden, now, Tolerance::Given(1e-4), true);
  const Report back = report_from_json(to_json(report));
  ASSERT_TRUE(back.golden_drift);
  EXPECT_EQ(back.golden_drift->failure_kind, "confident flip");
  EXPECT_EQ(back.golden_drift->benign_flips.size(), 1u);
  EXPECT_EQ(back.golden_drift->points.size(), 4u);
  nlohmann::json bad = to_json(report);
  bad["details"]["golden_drift"]["points"] = {{1, 2}};
  EXPECT_THROW(report_from_json(bad), Error);
  bad["details"]["golden_drift"] = "drift";
  EXPECT_THROW(report_from_json(bad), Error);
}

}  // namespace
}  // namespace detllm
