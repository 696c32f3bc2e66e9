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
  // The packs of these tests are this process's own: their models are trusted.
  ReplayOptions replay_options(const std::string& model = "") {
    ReplayOptions o;
    o.model = model;
    o.trust_pack_model = true;
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
    EXPECT_THAT(e.what(), HasSubstr("ran a callable model (\"callable:engine\"), which a pack "
                                    "cannot load: give the model to replay with"));
  }
  // Given the model, a passing pack replays as passing: reproduced.
  EXPECT_EQ(replay(passed.pack_dir, replay_options("builtin:tiny")).outcome,
            ReplayOutcome::kReproduced);
}

// A pack is untrusted: the local model file it names (a .pt2 or .pt runs
// code when loaded) is loaded only when named or trusted, and replay says
// what it loads before it does.
TEST_F(ReplayTest, LoadsThePacksLocalModelOnlyWhenNamedOrTrusted) {
  auto buggy = load_torchscript_model(model_file(testing::Defect::kIgnoresPadding));
  CheckOptions o = options();
  o.runs = 1;
  o.vary_batch = {4};
  const CheckResult failed = check(*buggy, kPrompts, o);
  ASSERT_EQ(failed.report.category, Category::kBatchVariance);

  ReplayOptions untrusted;
  untrusted.out_dir = replays_.path();
  std::vector<std::string> announced;
  untrusted.announce = [&](const std::string& line) { announced.push_back(line); };
  EXPECT_THAT([&] { replay(failed.pack_dir, untrusted); },
              ::testing::ThrowsMessage<Error>(HasSubstr(
                  "which replay loads only when you name it (--model PATH) or trust the pack")));
  EXPECT_TRUE(announced.empty());  // refused before anything was loaded

  untrusted.trust_pack_model = true;  // the negative control: trusted, it is loaded and run
  const ReplayResult trusted = replay(failed.pack_dir, untrusted);
  EXPECT_EQ(trusted.outcome, ReplayOutcome::kReproduced);
  ASSERT_EQ(announced.size(), 1u);
  EXPECT_THAT(announced[0], HasSubstr("loading the pack's model"));
  EXPECT_THAT(announced[0], HasSubstr("trusted with --trust-pack-model"));
  EXPECT_EQ(trusted.model_source, announced[0]);

  untrusted.trust_pack_model = false;
  untrusted.model = "builtin:tiny";  // named: loaded, and said so
  EXPECT_THAT(replay(failed.pack_dir, untrusted).model_source,
              HasSubstr("the named model \"builtin:tiny\" (built in)"));
  untrusted.api_key_env = "HOME";  // a key needs a server named with --model
  EXPECT_THAT(
      [&] { replay(failed.pack_dir, untrusted); },
      ::testing::ThrowsMessage<Error>(HasSubstr("needs the server named with --model URL")));
}

// A prompt that is not UTF-8 is stored byte for byte and replayed as it ran;
// a stored prompt that does not hash to its prompt_id is refused.
TEST_F(ReplayTest, APromptThatIsNotUtf8ReplaysByteForByte) {
  const std::string bytes = "\xff\xfe Choose one: A or B.";
  auto model = make_builtin_model(BuiltinConfig::tiny());
  CheckOptions o = options();
  o.keep_passing_pack = true;
  const CheckResult passed = check(*model, {bytes}, o);
  const nlohmann::json config =
      internal::read_json_file(passed.pack_dir + "/run_config.json", "run_config");
  EXPECT_EQ(config["prompts"][0]["prompt_id"], prompt_id(bytes));
  ASSERT_TRUE(config["prompts"][0].contains("text_base64"));
  const ReplayResult again = replay(passed.pack_dir, replay_options());
  EXPECT_EQ(again.outcome, ReplayOutcome::kReproduced) << again.now.headline();

  nlohmann::json edited = config;
  edited["prompts"][0].erase("text_base64");  // as packs stored it before: U+FFFD for each byte
  std::ofstream(passed.pack_dir + "/run_config.json") << edited.dump();
  EXPECT_THAT([&] { replay(passed.pack_dir, replay_options()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("prompt #0 is not the prompt that ran")));
}

}  // namespace
}  // namespace detllm
