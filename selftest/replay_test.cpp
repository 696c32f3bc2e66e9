// replay(): a pack's check run again reproduces what it found, vanishes with a
// fixed model, and refuses what it cannot replay.
#include "detllm_test/replay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "detllm_test/check.h"
#include "detllm_test/error.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/models.h"
#include "test_models.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

const std::vector<Prompt> kPrompts = {"Choose one: A or B.", "The capital of France is"};

class ReplayTest : public ::testing::Test {
 protected:
  CheckOptions options() {
    CheckOptions o;
    o.runs = 3;
    o.decoding.max_new_tokens = 8;
    o.out_dir = packs_.path();
    return o;
  }
  std::string model_file(testing::Defect defect) {
    return testing::write_torchscript_model(models_.path(), defect);
  }
  ReplayOptions replay_options(const std::string& model = "") {
    ReplayOptions o;
    o.model = model;
    o.out_dir = replays_.path();
    return o;
  }
  testing::TempDir packs_, replays_, models_;
};

// Dropout left on draws from the global generator, which the scope seeds: the
// same nondeterminism, replayed under the same seed, diverges the same way.
TEST_F(ReplayTest, ARunVariancePackReproducesAndVanishesWithAFixedModel) {
  auto buggy = load_torchscript_model(model_file(testing::Defect::kDropoutLeftOn));
  const CheckResult failed = check(*buggy, kPrompts, options());
  ASSERT_EQ(failed.report.category, Category::kRunVarianceFixedBatch);

  const ReplayResult again = replay(failed.pack_dir, replay_options());
  EXPECT_EQ(again.outcome, ReplayOutcome::kReproduced) << again.now.headline();
  EXPECT_EQ(again.now.category, Category::kRunVarianceFixedBatch);
  EXPECT_TRUE(again.model_changes.empty());
  EXPECT_NE(again.pack_dir, "");

  const std::string fixed = model_file(testing::Defect::kNone);
  const ReplayResult fixed_replay = replay(failed.pack_dir, replay_options(fixed));
  EXPECT_EQ(fixed_replay.outcome, ReplayOutcome::kVanished);
  EXPECT_TRUE(fixed_replay.now.passed);
  ASSERT_EQ(fixed_replay.model_changes.size(), 1u);
  EXPECT_THAT(fixed_replay.model_changes[0], HasSubstr("differs from the pack's: SHA-256"));
  EXPECT_EQ(fixed_replay.pack_dir, "");  // passing: no pack
}

// Batch composition and needle trials are in the pack, and replayed.
TEST_F(ReplayTest, ABatchVariancePackReplaysItsBatches) {
  auto buggy = load_torchscript_model(model_file(testing::Defect::kIgnoresPadding));
  CheckOptions o = options();
  o.runs = 1;
  o.needle_trials = 2;
  o.needle_max_batch_size = 5;
  const CheckResult failed = check(*buggy, kPrompts, o);
  ASSERT_EQ(failed.report.category, Category::kBatchVariance);
  const nlohmann::json config =
      internal::read_json_file(failed.pack_dir + "/run_config.json", "run_config");
  const nlohmann::json& composition = config["replay"]["batch_composition"];
  ASSERT_EQ(composition.size(), 3u);  // the runs, then two needle trials
  EXPECT_EQ(composition[1]["phase"], "needle trial 0");
  EXPECT_FALSE(composition[1]["batches"][0]["fillers"].empty());
  EXPECT_EQ(replay(failed.pack_dir, replay_options()).outcome, ReplayOutcome::kReproduced);
}

// A golden comparison's pack holds the golden: the replay compares with it again.
TEST_F(ReplayTest, AGoldenMismatchPackReplays) {
  const std::string good = model_file(testing::Defect::kNone);
  const std::string buggy = model_file(testing::Defect::kIgnoresPadding);
  GoldenOptions g;
  g.path = packs_.path() + "/golden/padded.jsonl";
  g.base = options();
  g.base.batch_size = 4;
  g.update = true;
  g.force = true;  // recording is refused where CI is set, as where this suite runs in CI
  check_golden(*load_torchscript_model(good), kPrompts, g);
  g.update = false;
  const GoldenResult failed = check_golden(*load_torchscript_model(buggy), kPrompts, g);
  ASSERT_EQ(failed.report.category, Category::kGoldenMismatch);
  const ReplayResult again = replay(failed.pack_dir, replay_options());
  EXPECT_EQ(again.outcome, ReplayOutcome::kReproduced) << again.now.headline();
  EXPECT_EQ(again.now.category, Category::kGoldenMismatch);
  EXPECT_EQ(replay(failed.pack_dir, replay_options(good)).outcome, ReplayOutcome::kVanished);
}

TEST_F(ReplayTest, RefusesWhatItCannotReplay) {
  EXPECT_THAT(
      [&] {
        try {
          replay(packs_.path() + "/nothing", replay_options());
        } catch (const Error& e) {
          return std::string(e.what());
        }
        return std::string();
      }(),
      HasSubstr("run_config"));
  ModelInfo info;
  info.name = "callable:engine";
  info.backend = "callable";
  auto inner = make_builtin_model(BuiltinConfig::tiny());
  auto callable =
      make_callable_model([&](const std::vector<TokenIds>& batch,
                              const GenerationConfig& c) { return inner->generate(batch, c); },
                          info);
  CheckOptions o = options();
  o.keep_passing_pack = true;
  const CheckResult passed = check(*callable, kPrompts, o);
  try {
    replay(passed.pack_dir, replay_options());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("ran a callable model ('callable:engine'), which a pack "
                                    "cannot load: give the model to replay with"));
  }
  // Given the model, a passing pack replays as passing: reproduced.
  EXPECT_EQ(replay(passed.pack_dir, replay_options("builtin:tiny")).outcome,
            ReplayOutcome::kReproduced);
}

}  // namespace
}  // namespace detllm
