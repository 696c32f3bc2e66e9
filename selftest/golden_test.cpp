// Golden files and EXPECT_MATCHES_GOLDEN: recorded and matched; checked against
// models with a real change (other weights, the padding bug, a perturbation
// below the argmax margin); recording refused under CI; missing, corrupt and
// truncated goldens.
#include "detllm_test/golden.h"

#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "artifacts/file_util.h"
#include "artifacts/schema_check.h"
#include "detllm_test/detllm_test.h"
#include "test_models.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<Prompt> kPrompts = {"Choose one: A or B.", "The capital of France is",
                                      "def fibonacci(n):"};

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { old_.empty() ? unsetenv(name_) : setenv(name_, old_.c_str(), 1); }

 private:
  const char* name_;
  std::string old_;
};

class GoldenTest : public ::testing::Test {
 protected:
  std::string golden(const std::string& name) { return dir_.path() + "/golden/" + name; }
  GoldenOptions options(const std::string& path, int tier = 2) {
    GoldenOptions o;
    o.path = path;
    o.base.out_dir = dir_.path() + "/packs";
    o.base.decoding.max_new_tokens = 8;
    o.base.determinism.tier = tier;
    return o;
  }
  GoldenResult record(Generator& model, const std::string& path, int tier = 2) {
    GoldenOptions o = options(path, tier);
    o.update = true;
    ScopedEnv no_ci("CI", nullptr);
    return check_golden(model, kPrompts, o);
  }
  static std::unique_ptr<Generator> tiny(uint64_t weight_seed = 0, double epsilon = 1e-5) {
    BuiltinConfig config = BuiltinConfig::tiny();
    config.weight_seed = weight_seed;
    config.layer_norm_epsilon = epsilon;
    return make_builtin_model(config);
  }
  testing::TempDir dir_;
};

TEST_F(GoldenTest, RecordedThenMatched) {
  auto model = tiny();
  const GoldenResult recorded = record(*model, golden("tiny.jsonl"));
  EXPECT_TRUE(recorded.recorded);
  EXPECT_THAT(recorded.changes, ::testing::ElementsAre("new golden: 3 prompts"));

  const Golden g = read_golden(golden("tiny.jsonl"));
  EXPECT_EQ(g.rows.size(), 3u);
  EXPECT_EQ(g.settings["tier"], 2);
  EXPECT_EQ(g.settings["decoding"]["max_new_tokens"], 8);
  EXPECT_EQ(g.settings["prompts"][1]["text"], "The capital of France is");
  EXPECT_EQ(g.model["name"], "builtin:tiny");
  EXPECT_EQ(g.env["artifact_type"], "env_snapshot");
  ASSERT_TRUE(g.rows[0].scores.has_value());

  // The settings come from the golden: the base's defaults are not used.
  GoldenOptions o = options(golden("tiny.jsonl"));
  o.base.decoding.max_new_tokens = 3;
  const GoldenResult matched = check_golden(*model, kPrompts, o);
  EXPECT_TRUE(matched.passed()) << matched.report.headline();
  EXPECT_EQ(matched.runs[0][0].generated_token_ids.size(), 8u);
  EXPECT_NE(matched.pack_dir, "");  // keep_passing_pack, as check() does
  EXPECT_TRUE(matched.report.headline().find("match golden") != std::string::npos);

  EXPECT_MATCHES_GOLDEN(*model, kPrompts, golden("tiny.jsonl"));
  EXPECT_MATCHES_GOLDEN(model, kPrompts, golden("tiny.jsonl"), Tier(2));

  // Rewriting an unchanged golden says so.
  EXPECT_THAT(record(*model, golden("tiny.jsonl")).changes, ::testing::ElementsAre("unchanged"));
}

// A golden arrives in a pull request: one that says tier 0 would pass any
// model, and one recorded for another model must not pass as this one's.
TEST_F(GoldenTest, ACraftedGoldenNeverPassesAsThisModels) {
  auto model = tiny();
  record(*model, golden("tiny.jsonl"));
  Golden crafted = read_golden(golden("tiny.jsonl"));
  crafted.settings["tier"] = 0;
  for (TraceRow& row : crafted.rows) {
    std::fill(row.generated_token_ids.begin(), row.generated_token_ids.end(), 0);
  }
  write_golden(golden("tier0.jsonl"), crafted);
  EXPECT_THAT([&] { check_golden(*model, kPrompts, options(golden("tier0.jsonl"))); },
              ::testing::ThrowsMessage<Error>(HasSubstr("at tier 0 would assert nothing")));
  static std::string path;  // gtest-spi statements see no locals
  path = golden("tier0.jsonl");
  EXPECT_FATAL_FAILURE(ASSERT_MATCHES_GOLDEN(*tiny(), kPrompts, path, Tier(0)),
                       "at tier 0 would assert nothing");
  EXPECT_THAT([&] { record(*model, golden("new.jsonl"), /*tier=*/0); },
              ::testing::ThrowsMessage<Error>(HasSubstr("at tier 0 would assert nothing")));

  Golden other = read_golden(golden("tiny.jsonl"));
  other.model["name"] = "builtin:other";
  write_golden(golden("other.jsonl"), other);
  const GoldenResult noted = check_golden(*model, kPrompts, options(golden("other.jsonl")));
  EXPECT_TRUE(noted.passed());  // best-effort: the same outputs, and a note
  EXPECT_THAT(noted.report.notes, ::testing::Contains(HasSubstr(
                                      "was recorded for model \"builtin:other\", not for this "
                                      "model \"builtin:tiny\"")));
  GoldenOptions strict = options(golden("other.jsonl"));
  strict.overrides = [](CheckOptions& o) { o.determinism.mode = Mode::kStrict; };
  const GoldenResult failed = check_golden(*model, kPrompts, strict);
  EXPECT_EQ(failed.report.category, Category::kGenContextMismatch);
  EXPECT_THAT(failed.report.headline(), HasSubstr("FAIL: GEN_CONTEXT_MISMATCH — golden '"));
  path = golden("other.jsonl");
  EXPECT_NONFATAL_FAILURE(EXPECT_MATCHES_GOLDEN(*tiny(), kPrompts, path, Strict()),
                          "was recorded for model \"builtin:other\"");
}

TEST_F(GoldenTest, OtherWeightsAreAGoldenMismatchWithBothSides) {
  auto blessed = tiny(0);
  record(*blessed, golden("tiny.jsonl"));
  auto changed = tiny(1);  // a new release with other weights
  const GoldenResult result = check_golden(*changed, kPrompts, options(golden("tiny.jsonl")));
  ASSERT_FALSE(result.passed());
  EXPECT_EQ(result.report.category, Category::kGoldenMismatch);
  ASSERT_TRUE(result.report.first_divergence);
  EXPECT_EQ(result.report.first_divergence->left_label, "golden");
  EXPECT_EQ(result.report.first_divergence->field, "generated_token_ids");
  const std::string text = render_text(result.report);
  EXPECT_THAT(text, HasSubstr("GOLDEN_MISMATCH"));
  EXPECT_THAT(text, HasSubstr("first divergence from the golden"));
  EXPECT_THAT(text, HasSubstr("prompt #0 \"Choose one: A or B.\" at generated token"));
  for (const char* file : {"trace.jsonl", "env.json", "golden.jsonl", "golden_env.json",
                           "report.json", "report.txt", "diffs/first_divergence.json"}) {
    EXPECT_TRUE(std::filesystem::exists(result.pack_dir + "/" + file)) << file;
  }
  // The pack's golden.jsonl is the golden itself, and `detllm diff` reads it as a trace.
  EXPECT_EQ(read_trace(result.pack_dir + "/golden.jsonl").size(), 3u);

  EXPECT_NONFATAL_FAILURE(EXPECT_MATCHES_GOLDEN(*changed, kPrompts, golden("tiny.jsonl")),
                          "GOLDEN_MISMATCH — the outputs differ from golden");
}

TEST_F(GoldenTest, ThePaddingBugIsAGoldenMismatch) {
  testing::TempDir models;
  auto correct = load_torchscript_model(
      testing::write_torchscript_model(models.path(), testing::Defect::kNone));
  auto buggy = load_torchscript_model(
      testing::write_torchscript_model(models.path(), testing::Defect::kIgnoresPadding));
  GoldenOptions o = options(golden("padded.jsonl"), 1);
  o.base.batch_size = 4;  // recorded in real, padded batches
  o.update = true;
  {
    ScopedEnv no_ci("CI", nullptr);
    check_golden(*correct, kPrompts, o);
  }
  o.update = false;
  EXPECT_TRUE(check_golden(*correct, kPrompts, o).passed());
  const GoldenResult result = check_golden(*buggy, kPrompts, o);
  EXPECT_EQ(result.report.category, Category::kGoldenMismatch);
  EXPECT_EQ(read_golden(golden("padded.jsonl")).settings["batch_size"], 4);
}

// A change too small to flip a token: tier 1 passes (and notes the logprob
// drift), tier 2 fails bitwise, and passes with a ULP tolerance.
TEST_F(GoldenTest, APerturbationBelowTheMarginFailsOnlyTier2) {
  auto blessed = tiny(0, 1e-5);
  record(*blessed, golden("tier2.jsonl"), 2);
  auto perturbed = tiny(0, 2e-5);  // layer-norm epsilon 1e-5 -> 2e-5

  GoldenOptions tier1 = options(golden("tier2.jsonl"));
  tier1.overrides = [](CheckOptions& o) { o.determinism.tier = 1; };
  const GoldenResult at_tier1 = check_golden(*perturbed, kPrompts, tier1);
  EXPECT_TRUE(at_tier1.passed()) << at_tier1.report.headline();
  EXPECT_THAT(at_tier1.report.notes,
              ::testing::Contains("logprobs differ from the golden (not asserted below tier 2)"));

  const GoldenResult at_tier2 = check_golden(*perturbed, kPrompts, options(golden("tier2.jsonl")));
  ASSERT_FALSE(at_tier2.passed());
  EXPECT_EQ(at_tier2.report.category, Category::kGoldenMismatch);
  EXPECT_EQ(at_tier2.report.first_divergence->field, "scores");
  EXPECT_THAT(render_text(at_tier2.report), HasSubstr("logprob of generated token"));

  GoldenOptions tolerant = options(golden("tier2.jsonl"));
  tolerant.logprob_ulps = 1 << 20;
  EXPECT_TRUE(check_golden(*perturbed, kPrompts, tolerant).passed());
  GoldenOptions strict_ulps = options(golden("tier2.jsonl"));
  strict_ulps.logprob_ulps = 1;
  EXPECT_FALSE(check_golden(*perturbed, kPrompts, strict_ulps).passed());

  EXPECT_MATCHES_GOLDEN(*perturbed, kPrompts, golden("tier2.jsonl"), LogprobUlps(1 << 20));
  EXPECT_MATCHES_GOLDEN(*perturbed, kPrompts, golden("tier2.jsonl"), Tier(1));
  EXPECT_NONFATAL_FAILURE(EXPECT_MATCHES_GOLDEN(*perturbed, kPrompts, golden("tier2.jsonl")),
                          "logprob of generated token");
}

// The environment fields that differ from the recording are named as likely
// causes (here the golden's snapshot is edited as if recorded elsewhere).
TEST_F(GoldenTest, NamesTheEnvironmentChangesAsLikelyCauses) {
  auto blessed = tiny(0);
  record(*blessed, golden("env.jsonl"));
  Golden g = read_golden(golden("env.jsonl"));
  g.env["libtorch"]["version"] = "0.9.0";
  g.env["torch"]["runtime"]["num_threads"] = 7;
  write_golden(golden("env.jsonl"), g);
  auto changed = tiny(1);
  const GoldenResult result = check_golden(*changed, kPrompts, options(golden("env.jsonl")));
  EXPECT_THAT(result.report.env_differences, ::testing::Contains("libtorch.version"));
  const std::string text = render_text(result.report);
  EXPECT_THAT(text, HasSubstr("environment differs from the golden's recording:"));
  EXPECT_THAT(text, HasSubstr("likely causes:"));
  EXPECT_THAT(text, HasSubstr("0.9.0"));
}

TEST_F(GoldenTest, RecordingIsRefusedUnderCiUnlessForced) {
  auto model = tiny();
  ScopedEnv ci("CI", "true");
  {
    ScopedEnv update("DETLLM_UPDATE_GOLDEN", "1");
    EXPECT_NONFATAL_FAILURE(EXPECT_MATCHES_GOLDEN(*model, kPrompts, golden("ci.jsonl")),
                            "refusing to record golden");
    EXPECT_FALSE(std::filesystem::exists(golden("ci.jsonl")));
  }
  {
    ScopedEnv update("DETLLM_UPDATE_GOLDEN", "force");
    EXPECT_MATCHES_GOLDEN(*model, kPrompts, golden("ci.jsonl"));
    EXPECT_TRUE(std::filesystem::exists(golden("ci.jsonl")));
  }
  EXPECT_MATCHES_GOLDEN(*model, kPrompts, golden("ci.jsonl"));
}

TEST_F(GoldenTest, AMissingGoldenFailsWithTheCommandThatRecordsIt) {
  auto model = tiny();
  ScopedEnv no_update("DETLLM_UPDATE_GOLDEN", nullptr);
  EXPECT_NONFATAL_FAILURE(EXPECT_MATCHES_GOLDEN(*model, kPrompts, golden("missing.jsonl")),
                          "does not exist; record it with:\n    DETLLM_UPDATE_GOLDEN=1 ");
  EXPECT_NONFATAL_FAILURE(
      EXPECT_MATCHES_GOLDEN(*model, kPrompts, golden("missing.jsonl")),
      "--gtest_filter=GoldenTest.AMissingGoldenFailsWithTheCommandThatRecordsIt");
  EXPECT_THROW(check_golden(*model, kPrompts, options(golden("missing.jsonl"))), Error);
}

TEST_F(GoldenTest, CorruptAndTruncatedGoldensAreClearErrors) {
  auto model = tiny();
  record(*model, golden("good.jsonl"));
  const std::string good = internal::read_file(golden("good.jsonl"), "golden");
  auto error_for = [&](const std::string& content) {
    std::ofstream(golden("bad.jsonl"), std::ios::binary) << content;
    try {
      check_golden(*model, kPrompts, options(golden("bad.jsonl")));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error_for(""), HasSubstr("ends before its golden header line"));
  EXPECT_THAT(error_for("not json\n"),
              HasSubstr("golden '" + golden("bad.jsonl") + "' line 1 is not valid JSON"));
  EXPECT_THAT(error_for("{\"prompt_id\":\"x\",\"generated_token_ids\":[1]}\n"),
              HasSubstr("is not the golden's golden header"));
  EXPECT_THAT(error_for(good.substr(0, good.find('\n') + 1)),
              HasSubstr("ends before its env_snapshot header line"));
  EXPECT_THAT(error_for(good.substr(0, good.size() - 20)), HasSubstr("is truncated"));
  EXPECT_THAT(error_for(good.substr(0, good.find('\n', good.find('\n') + 1) + 1)),
              HasSubstr("has no trace rows"));
  EXPECT_NONFATAL_FAILURE(EXPECT_MATCHES_GOLDEN(*model, kPrompts, golden("bad.jsonl")),
                          "Actual: error: golden");
}

// A tolerance: the golden's tokens scored by the model (teacher forcing).
// Recording measures the model's own noise into the header; auto passes the
// blessed model, and a real change (layer-norm epsilon 1e-5 -> 1e-3)
// fails it naming the position, the golden's margin and the drift, in the
// assertion's message too.
TEST_F(GoldenTest, TeacherForcedWithAToleranceTellsDriftFromRegression) {
  auto blessed = tiny();
  record(*blessed, golden("calibrated.jsonl"));
  const Golden written = read_golden(golden("calibrated.jsonl"));
  ASSERT_TRUE(written.calibration.is_object());
  EXPECT_EQ(written.calibration["measurements"].size(), 4u);  // one pass, threads 2 and 4, batch 4

  GoldenOptions automatic = options(golden("calibrated.jsonl"));
  automatic.tolerance = Tolerance::Auto();
  const GoldenResult same = check_golden(*blessed, kPrompts, automatic);
  EXPECT_TRUE(same.passed()) << render_text(same.report);
  ASSERT_TRUE(same.report.golden_drift);
  // Bit for bit only where scoring in one pass computes what decoding did
  // (netlib: yes; MKL: no, and the calibration's one-pass measurement is that).
  EXPECT_FALSE(same.report.golden_drift->failure);
  EXPECT_EQ(same.report.golden_drift->positions, 3 * 8);
  EXPECT_THAT(same.report.golden_drift->calibration, HasSubstr("auto: noise"));

  auto changed = tiny(0, 1e-3);
  const GoldenResult regression = check_golden(*changed, kPrompts, automatic);
  ASSERT_FALSE(regression.passed());
  EXPECT_EQ(regression.report.category, Category::kGoldenMismatch);
  ASSERT_TRUE(regression.report.golden_drift && regression.report.golden_drift->failure);
  EXPECT_THAT(render_text(regression.report), HasSubstr("beyond tolerance first at prompt #"));
  EXPECT_THAT(regression.report.first_divergence->detail, HasSubstr("the golden's margin"));
  EXPECT_TRUE(std::filesystem::exists(regression.pack_dir + "/report.html"));
  EXPECT_THAT(internal::validate_pack(regression.pack_dir), ::testing::IsEmpty());

  // A loose tolerance lets the drift through, saying how far it went.
  GoldenOptions loose = automatic;
  loose.tolerance = Tolerance::Given(1.0, 0);
  const GoldenResult drifted = check_golden(*changed, kPrompts, loose);
  EXPECT_TRUE(drifted.passed()) << render_text(drifted.report);
  EXPECT_THAT(drifted.report.notes, ::testing::Contains(HasSubstr("within tolerance logprob=1")));

  EXPECT_MATCHES_GOLDEN(*blessed, kPrompts, golden("calibrated.jsonl"), Tolerance::Auto());
  EXPECT_NONFATAL_FAILURE(
      EXPECT_MATCHES_GOLDEN(*changed, kPrompts, golden("calibrated.jsonl"), Tolerance::Auto()),
      "within tolerance auto on");
}

TEST_F(GoldenTest, AutoNeedsACalibrationAndTheGoldensOwnPrompts) {
  auto model = tiny();
  GoldenOptions o = options(golden("plain.jsonl"));
  o.update = true;
  o.calibrate = false;
  {
    ScopedEnv no_ci("CI", nullptr);
    check_golden(*model, kPrompts, o);
  }
  GoldenOptions automatic = options(golden("plain.jsonl"));
  automatic.tolerance = Tolerance::Auto();
  try {
    check_golden(*model, kPrompts, automatic);
    ADD_FAILURE() << "auto without a calibration";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("holds no calibration"));
  }
  GoldenOptions given = options(golden("plain.jsonl"));
  given.tolerance = Tolerance::Given(1e-4);
  const std::vector<Prompt> others = {"Choose one: A or B.", "Another prompt", "def f():"};
  const GoldenResult result = check_golden(*model, others, given);
  ASSERT_FALSE(result.passed());
  EXPECT_EQ(result.report.category, Category::kGenContextMismatch) << render_text(result.report);
}

}  // namespace
}  // namespace detllm
