// The GoogleTest layer: every assertion passes on a deterministic model and
// fails, with the right message, on a really nondeterministic or batch-variant
// one; matchers describe, negate and explain; the fixture applies and restores.
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "artifacts/file_util.h"
#include "detllm_test/detllm_test.h"
#include "test_models.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<std::string> kPrompts = {"Choose one: A or B.", "The capital of France is"};

// Models shared by the tests (EXPECT_FATAL_FAILURE statements cannot use locals).
struct Models {
  testing::TempDir dir;
  std::unique_ptr<Generator> builtin = make_builtin_model(BuiltinConfig::tiny());
  std::unique_ptr<Generator> correct =
      load_torchscript_model(testing::write_torchscript_model(dir.path(), testing::Defect::kNone));
  std::unique_ptr<Generator> dropout = load_torchscript_model(
      testing::write_torchscript_model(dir.path(), testing::Defect::kDropoutLeftOn));
  std::unique_ptr<Generator> ignores_padding = load_torchscript_model(
      testing::write_torchscript_model(dir.path(), testing::Defect::kIgnoresPadding));
  std::unique_ptr<Generator> tiny_noise = load_torchscript_model(
      testing::write_torchscript_model(dir.path(), testing::Defect::kTinyNoise));
  // A C++ engine without logprobs.
  std::unique_ptr<Generator> no_logprobs = make_callable_model(
      [this](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        auto out = builtin->generate(batch, config);
        for (Generation& g : out) g.logprobs.clear();
        return out;
      },
      [] {
        ModelInfo info;
        info.name = "callable:no-logprobs";
        info.capabilities.logprobs = false;
        return info;
      }());
  // A model that configures a determinism-relevant variable on every call.
  std::unique_ptr<Generator> sets_omp_threads = make_callable_model(
      [this](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        static int calls = 0;
        setenv("OMP_NUM_THREADS", std::to_string(++calls).c_str(), 1);
        return builtin->generate(batch, config);
      },
      ModelInfo{});
};
Models& models() {
  static Models* m = new Models;
  return *m;
}

// Every assertion test gets its own artifact root.
class AssertionTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("DETLLM_ARTIFACTS_DIR", root_.path().c_str(), 1); }
  void TearDown() override { unsetenv("DETLLM_ARTIFACTS_DIR"); }
  std::vector<std::string> packs() { return internal::list_directory(test_artifact_dir()); }
  testing::TempDir root_;
};

TEST_F(AssertionTest, RepeatablePassesAndRemovesItsPack) {
  EXPECT_REPEATABLE(models().builtin, kPrompts, Runs(3));
  ASSERT_REPEATABLE(*models().builtin, kPrompts, Runs(2), Tier(2), MaxNewTokens(6));
  EXPECT_TRUE(packs().empty());
}

TEST_F(AssertionTest, PreflightNamesAnOpWithoutADeterministicKernel) {
  testing::TempDir dir;
  auto model = load_torchscript_model(
      testing::write_torchscript_model(dir.path(), testing::Defect::kPutOverwrites));
  EXPECT_NONFATAL_FAILURE(EXPECT_REPEATABLE(model, kPrompts, Runs(2), Preflight()),
                          "Actual: error: preflight forward pass failed: TorchScript model");
  EXPECT_NONFATAL_FAILURE(EXPECT_BATCH_INVARIANT(model, kPrompts, Preflight()),
                          "put_ has no deterministic kernel");
  EXPECT_REPEATABLE(models().builtin, kPrompts, Runs(2), Preflight());
}

TEST_F(AssertionTest, KeepsPassingPacksWhenAsked) {
  setenv("DETLLM_KEEP_ARTIFACTS", "1", 1);
  EXPECT_REPEATABLE(models().builtin, kPrompts, Runs(2));
  unsetenv("DETLLM_KEEP_ARTIFACTS");
  EXPECT_EQ(packs().size(), 1u);
}

TEST_F(AssertionTest, RepeatableFailsOnRunVariance) {
  EXPECT_NONFATAL_FAILURE(
      EXPECT_REPEATABLE(models().dropout, kPrompts, Runs(3)) << "extra context",
      "Value of: models().dropout is repeatable over 3 runs (tier 1, batch size 1)");
  EXPECT_NONFATAL_FAILURE(EXPECT_REPEATABLE(models().dropout, kPrompts, Runs(3)),
                          "Actual: RUN_VARIANCE_FIXED_BATCH — run 1 diverged from run 0");
  EXPECT_NONFATAL_FAILURE(EXPECT_REPEATABLE(models().dropout, kPrompts, Runs(3)) << "extra context",
                          "extra context");
  EXPECT_NONFATAL_FAILURE(EXPECT_REPEATABLE(models().dropout, kPrompts, Runs(3)),
                          "controls: deterministic_algorithms=on");
  EXPECT_NONFATAL_FAILURE(EXPECT_REPEATABLE(models().dropout, kPrompts, Runs(3)), "repro pack: ");
  EXPECT_EQ(packs().size(), 6u) << "every failed assertion keeps its own pack, beside failures.txt";
}

TEST_F(AssertionTest, AssertRepeatableIsFatal) {
  EXPECT_FATAL_FAILURE(ASSERT_REPEATABLE(models().dropout, kPrompts), "RUN_VARIANCE_FIXED_BATCH");
}

TEST_F(AssertionTest, Tier2FailsOnScoreVariance) {
  EXPECT_REPEATABLE(models().tiny_noise, kPrompts);  // tokens agree
  EXPECT_NONFATAL_FAILURE(EXPECT_REPEATABLE(models().tiny_noise, kPrompts, Tier(2)),
                          "SCORE_VARIANCE");
}

TEST_F(AssertionTest, BatchInvariantPassesOnACorrectModel) {
  EXPECT_BATCH_INVARIANT(models().correct, kPrompts, BatchSizes({1, 3, 8}));
  EXPECT_BATCH_INVARIANT(models().builtin, kPrompts);
  EXPECT_BATCH_INVARIANT(models().correct, kPrompts, Needle(3, 8));
}

TEST_F(AssertionTest, BatchInvariantFailsOnIgnoredPadding) {
  EXPECT_NONFATAL_FAILURE(
      EXPECT_BATCH_INVARIANT(models().ignores_padding, kPrompts, BatchSizes({1, 4})),
      "BATCH_VARIANCE — batch size 4 diverged from batch size 1");
  EXPECT_NONFATAL_FAILURE(EXPECT_BATCH_INVARIANT(models().ignores_padding, kPrompts, Needle(4, 8)),
                          "BATCH_VARIANCE — needle trial");
  EXPECT_NONFATAL_FAILURE(
      EXPECT_BATCH_INVARIANT(models().ignores_padding, kPrompts, Needle(4, 8)),
      "is batch invariant at batch sizes 1 and in 4 needle trials up to batch size 8");
  EXPECT_FATAL_FAILURE(ASSERT_BATCH_INVARIANT(models().ignores_padding, kPrompts),
                       "BATCH_VARIANCE");
  EXPECT_NONFATAL_FAILURE(
      EXPECT_BATCH_INVARIANT(models().ignores_padding, kPrompts, BatchSizes({1, 4}), Tier(2)),
      "is batch invariant at batch sizes 1, 4 (tier 2)");
}

TEST_F(AssertionTest, StrictTier2WithoutLogprobsIsUnsupported) {
  EXPECT_NONFATAL_FAILURE(EXPECT_REPEATABLE(models().no_logprobs, kPrompts, Tier(2), Strict()),
                          "UNSUPPORTED_REQUEST");
  EXPECT_REPEATABLE(models().no_logprobs, kPrompts, Tier(2), BestEffort());  // downgraded to tier 1
}

TEST_F(AssertionTest, EnvironmentChangeFailsAsEnvMismatch) {
  EXPECT_NONFATAL_FAILURE(EXPECT_REPEATABLE(models().sets_omp_threads, kPrompts, Runs(2)),
                          "environment changed before run 1: env_vars.OMP_NUM_THREADS");
  unsetenv("OMP_NUM_THREADS");
}

TEST_F(AssertionTest, BadInputFailsWithTheError) {
  EXPECT_NONFATAL_FAILURE(EXPECT_REPEATABLE(models().builtin, std::vector<std::string>{}),
                          "Actual: error: no prompts");
  EXPECT_NONFATAL_FAILURE(EXPECT_BATCH_INVARIANT(models().builtin, kPrompts, BatchSizes({1, 0})),
                          "batch size 0 in vary_batch is invalid");
}

TEST_F(AssertionTest, AModelsOwnExceptionIsAFailure) {
  static auto throwing = make_callable_model(
      [](const std::vector<TokenIds>&, const GenerationConfig&) -> std::vector<Generation> {
        throw std::runtime_error("engine out of memory");
      },
      ModelInfo{});
  EXPECT_NONFATAL_FAILURE(EXPECT_REPEATABLE(throwing, kPrompts),
                          "the model threw: engine out of memory");
  EXPECT_EQ(internal::list_directory(test_artifact_dir()), std::vector<std::string>{"failures.txt"})
      << "no half-written pack";
}

TEST(ArtifactDir, IsNamedAfterTheTestWithSafeCharacters) {
  EXPECT_THAT(test_artifact_dir(), HasSubstr("/ArtifactDir.IsNamedAfterTheTestWithSafeCharacters"));
}

class ParamNames : public ::testing::TestWithParam<int> {};
TEST_P(ParamNames, HaveTheirSlashReplaced) {
  EXPECT_THAT(test_artifact_dir(), HasSubstr("/Each_ParamNames.HaveTheirSlashReplaced_0"));
}
INSTANTIATE_TEST_SUITE_P(Each, ParamNames, ::testing::Values(0));

// --- matchers ---

CheckResult checked(Generator& model, std::vector<int> vary = {}, int tier = 1) {
  CheckOptions o;
  o.runs = 3;
  o.vary_batch = std::move(vary);
  o.determinism.tier = tier;
  o.decoding.max_new_tokens = 8;
  o.out_dir.clear();
  return check(model, {kPrompts.begin(), kPrompts.end()}, o);
}

template <typename T>
std::string explain(const ::testing::Matcher<T>& matcher,
                    const std::remove_cv_t<std::remove_reference_t<T>>& value) {
  ::testing::StringMatchResultListener listener;
  matcher.MatchAndExplain(value, &listener);
  return listener.str();
}

TEST(Matchers, OnCheckResults) {
  const CheckResult good = checked(*models().builtin, {1, 4});
  const CheckResult run_variant = checked(*models().dropout);
  const CheckResult batch_variant = checked(*models().ignores_padding, {1, 4});
  EXPECT_THAT(good, Passes());
  EXPECT_THAT(good, IsRepeatable());
  EXPECT_THAT(good, IsBatchInvariant());
  EXPECT_THAT(good, HasCategory(Category::kPass));
  EXPECT_THAT(run_variant, Not(IsRepeatable()));
  EXPECT_THAT(run_variant, HasCategory(Category::kRunVarianceFixedBatch));
  EXPECT_THAT(batch_variant,
              ::testing::AllOf(IsRepeatable(), Not(IsBatchInvariant()), Not(Passes())));
  const Divergence& d = *batch_variant.report.batch_divergence;
  EXPECT_THAT(batch_variant, DivergesAt(d.prompt_index, d.token_index));
  EXPECT_THAT(batch_variant, Not(DivergesAt(d.prompt_index, d.token_index + 1)));

  EXPECT_EQ(::testing::DescribeMatcher<const CheckResult&>(IsRepeatable()),
            "is repeatable across runs");
  EXPECT_EQ(::testing::DescribeMatcher<const CheckResult&>(IsRepeatable(), true),
            "isn't repeatable across runs");
  EXPECT_EQ(::testing::DescribeMatcher<const CheckResult&>(HasCategory(Category::kBatchVariance)),
            "has category BATCH_VARIANCE");
  EXPECT_EQ(::testing::DescribeMatcher<const CheckResult&>(DivergesAt(1, 4), true),
            "doesn't diverge first at prompt #1, generated token 4");
  EXPECT_THAT(explain<const CheckResult&>(IsBatchInvariant(), batch_variant),
              HasSubstr("which diverges at prompt #" + std::to_string(d.prompt_index) +
                        ", generated token " + std::to_string(d.token_index) + " (batch size 1: "));
  EXPECT_EQ(explain<const CheckResult&>(DivergesAt(0, 0), good), "which does not diverge");
  EXPECT_EQ(explain<const CheckResult&>(HasCategory(Category::kPass), good),
            "whose category is PASS");
  // A result with a pack names it, as the macros do, for a failing EXPECT_THAT.
  CheckResult packed = run_variant;
  packed.pack_dir = "artifacts/Suite.Test/20261206-run";
  EXPECT_THAT(explain<const CheckResult&>(IsRepeatable(), packed),
              ::testing::EndsWith("; repro pack: artifacts/Suite.Test/20261206-run"));
}

// detllm::check() called in a test, with the default out_dir, behaves like an
// assertion: its pack goes under the test's artifact directory
// ($DETLLM_ARTIFACTS_DIR/<Suite.Test>), kept on failure only, and a failing
// matcher names it.
TEST_F(AssertionTest, ACheckInATestWritesWhereTheAssertionsDo) {
  CheckOptions o;
  o.runs = 2;
  o.decoding.max_new_tokens = 6;
  const std::vector<Prompt> prompts(kPrompts.begin(), kPrompts.end());
  const CheckResult good = check(*models().builtin, prompts, o);
  EXPECT_TRUE(good.passed());
  EXPECT_TRUE(good.pack_dir.empty());
  EXPECT_TRUE(packs().empty());
  const CheckResult bad = check(*models().dropout, prompts, o);
  ASSERT_FALSE(bad.passed());
  EXPECT_EQ(packs().size(), 1u);
  EXPECT_THAT(bad.pack_dir, ::testing::StartsWith(test_artifact_dir() + "/"));
  EXPECT_THAT(explain<const CheckResult&>(IsRepeatable(), bad),
              HasSubstr("; repro pack: " + bad.pack_dir));
}

// check_golden() too: a golden of builtin:tiny compared with another model
// fails, and its pack is under the test's directory; a passing one leaves none.
TEST_F(AssertionTest, AGoldenCheckInATestWritesWhereTheAssertionsDo) {
  testing::TempDir dir;
  GoldenOptions g;
  g.path = dir.path() + "/golden.jsonl";
  g.base.decoding.max_new_tokens = 6;
  g.update = g.force = true;  // recorded here, whatever CI says
  const std::vector<Prompt> prompts(kPrompts.begin(), kPrompts.end());
  ASSERT_TRUE(check_golden(*models().builtin, prompts, g).recorded);
  g.update = g.force = false;
  EXPECT_TRUE(check_golden(*models().builtin, prompts, g).passed());
  EXPECT_TRUE(packs().empty());
  const GoldenResult other = check_golden(*models().dropout, prompts, g);
  ASSERT_FALSE(other.passed());
  EXPECT_EQ(packs().size(), 1u);
  EXPECT_THAT(other.pack_dir, ::testing::StartsWith(test_artifact_dir() + "/"));
}

TEST(Matchers, OnGenerations) {
  Generation a{{1, 2, 3}, {-0.5, -1.0, -2.0}, {}};
  Generation b = a;
  b.tokens[2] = 9;
  Generation c = a;
  c.logprobs[1] = static_cast<double>(std::nextafter(-1.0f, 0.0f));  // one float32 ULP
  EXPECT_THAT(a, TokensEqual(a));
  EXPECT_THAT(b, Not(TokensEqual(a)));
  EXPECT_EQ(explain<const Generation&>(TokensEqual(a), b),
            "which differs first at token 2: 9 vs 3");
  EXPECT_THAT(c, TokensEqual(a));
  EXPECT_THAT(c, Not(LogprobsEqual(a)));
  EXPECT_THAT(c, LogprobsWithinUlps(a, 1));
  EXPECT_THAT(explain<const Generation&>(LogprobsEqual(a), c),
              HasSubstr("which differs first at token 1"));
  EXPECT_THAT(explain<const Generation&>(LogprobsEqual(a), c), HasSubstr("(1 ULPs)"));
  EXPECT_EQ(::testing::DescribeMatcher<const Generation&>(LogprobsWithinUlps(a, 4)),
            "has logprobs within 4 float32 ULPs of the expected generation");
  EXPECT_EQ(::testing::DescribeMatcher<const Generation&>(TokensEqual(a), true),
            "not has the same tokens as the expected generation");
  // Real generations: bitwise equal on repeat, as the built-in model is deterministic on CPU.
  const auto ids = ByteTokenizer().encode("matchers");
  GenerationConfig config;
  config.max_new_tokens = 6;
  const Generation first = models().builtin->generate({ids}, config)[0];
  EXPECT_THAT(models().builtin->generate({ids}, config)[0],
              ::testing::AllOf(TokensEqual(first), LogprobsEqual(first)));
}

// --- fixture ---

class FixtureTest : public DeterminismTest {};

TEST_F(FixtureTest, AppliesTheControlsDuringTheTest) {
  EXPECT_EQ(capture_env()["torch"]["runtime"]["deterministic_algorithms"], "on");
  EXPECT_EQ(determinism().find("deterministic_algorithms")->effective, "on");
  EXPECT_EQ(artifact_dir(), test_artifact_dir());
}

// A fixture's determinism_options() are the assertions' defaults: its thread
// count and TF32 reach the check's determinism_applied.json, where before each
// assertion opened its controls from CheckOptions' defaults. An option the
// assertion gives wins; a whole CheckOptions is a base the others change.
class OverridingFixtureTest : public DeterminismTest {
 protected:
  void SetUp() override {
    setenv("DETLLM_ARTIFACTS_DIR", root_.path().c_str(), 1);
    DeterminismTest::SetUp();
  }
  void TearDown() override {
    DeterminismTest::TearDown();
    unsetenv("DETLLM_ARTIFACTS_DIR");
  }
  DeterminismOptions determinism_options() const override {
    DeterminismOptions o;
    o.threads = 2;
    o.allow_tf32 = true;
    return o;
  }
  // The determinism_applied.json of the one pack this test kept.
  nlohmann::json applied() {
    const std::vector<std::string> packs = internal::list_directory(test_artifact_dir());
    EXPECT_EQ(packs.size(), 1u);
    std::ifstream in(test_artifact_dir() + "/" + packs.at(0) + "/determinism_applied.json");
    return nlohmann::json::parse(in);
  }
  testing::TempDir root_;
};

TEST_F(OverridingFixtureTest, ItsOptionsAreTheAssertionsDefaults) {
  setenv("DETLLM_KEEP_ARTIFACTS", "1", 1);
  EXPECT_REPEATABLE(models().builtin, kPrompts, Runs(2));
  unsetenv("DETLLM_KEEP_ARTIFACTS");
  const nlohmann::json record = applied();
  EXPECT_EQ(record.at("threads"), 2);
  // libtorch 1.13 names the switch tf32_cublas, 2.x fp32_precision_cuda_matmul.
  const nlohmann::json& torch = record.at("torch_controls");
  const nlohmann::json& tf32 = torch.contains("tf32_cublas")
                                   ? torch.at("tf32_cublas")
                                   : torch.at("fp32_precision_cuda_matmul");
  EXPECT_THAT(tf32.at("requested").get<std::string>(), ::testing::AnyOf("on", "tf32"));

  const CheckOptions given = internal::make_options(internal::Property::kRun, Threads(1));
  EXPECT_EQ(given.determinism.threads, 1);  // the assertion's option wins
  EXPECT_TRUE(given.determinism.allow_tf32);
  CheckOptions base;
  base.runs = 7;
  const CheckOptions composed =
      internal::make_options(internal::Property::kRun, Tier(2), base, Tf32(false));
  EXPECT_EQ(composed.runs, 7);
  EXPECT_EQ(composed.determinism.tier, 2);  // given before the base, still applied
  EXPECT_FALSE(composed.determinism.allow_tf32);
}

TEST(Fixture, RestoresTheControlsInTearDown) {
  class Probe : public DeterminismTest {
   public:
    void TestBody() override {}
    using DeterminismTest::SetUp;
    using DeterminismTest::TearDown;
  } probe;
  const nlohmann::json before = capture_env()["torch"]["runtime"];
  probe.SetUp();
  EXPECT_NE(capture_env()["torch"]["runtime"], before);
  probe.TearDown();
  EXPECT_EQ(capture_env()["torch"]["runtime"], before);
}

class AcrossDevices : public DeterminismTestWithParam<ModelOptions> {};
TEST_P(AcrossDevices, SkipsWhatTheMachineLacks) {
  DETLLM_SKIP_IF_UNSUPPORTED(GetParam(), Mode::kBestEffort);
  auto model = make_builtin_model(BuiltinConfig::tiny(), GetParam());
  EXPECT_REPEATABLE(model, kPrompts, Runs(2), MaxNewTokens(4));
}
INSTANTIATE_TEST_SUITE_P(All, AcrossDevices, AllDevicesAndDtypes(), DeviceAndDtypeName());

void require_a_missing_device_strictly() {
  DETLLM_SKIP_IF_UNSUPPORTED((ModelOptions{"cuda:7", "float32"}), Mode::kStrict);
}
TEST(Capabilities, StrictModeFailsForAMissingDevice) {
  EXPECT_FATAL_FAILURE(require_a_missing_device_strictly(), "UNSUPPORTED_REQUEST: device 'cuda:7'");
  EXPECT_EQ(unsupported_reason({"cpu", "float32"}), "");
  EXPECT_THAT(unsupported_reason({"cpu", "float8"}), HasSubstr("unsupported dtype"));
}

TEST(Environment, SummaryIsOneLine) {
  const std::string line = environment_summary();
  EXPECT_THAT(line, HasSubstr("libtorch"));
  EXPECT_THAT(line, HasSubstr("CUBLAS_WORKSPACE_CONFIG="));
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

// --- a deliberately failing suite, run as a child process ---

// Disabled: they fail on purpose. ChildProcess.* runs them and checks the result.
TEST(DISABLED_DeliberatelyFailing, BatchVariant) {
  EXPECT_BATCH_INVARIANT(models().ignores_padding, kPrompts, BatchSizes({1, 4}));
}
TEST(DISABLED_DeliberatelyFailing, RunVariant) {
  ASSERT_REPEATABLE(models().dropout, kPrompts, Runs(3));
}
TEST(DISABLED_DeliberatelyFailing, NeedleVariant) {
  ASSERT_BATCH_INVARIANT(models().ignores_padding, kPrompts, Needle(3, 8));
}
TEST(DISABLED_DeliberatelyFailing, ScoreVariant) {
  EXPECT_REPEATABLE(models().tiny_noise, kPrompts, Tier(2));
}
TEST(DISABLED_DeliberatelyFailing, EnvChanges) {
  EXPECT_REPEATABLE(models().sets_omp_threads, kPrompts, Runs(2));
}
TEST(DISABLED_DeliberatelyFailing, Unsupported) {
  EXPECT_REPEATABLE(models().no_logprobs, kPrompts, Tier(2), Strict());
}

struct ChildResult {
  int exit_status;
  std::string output;
};

ChildResult run_self(const std::string& arguments, const std::string& environment) {
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  const std::string command =
      environment + " '" + self + "' --gtest_also_run_disabled_tests " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ChildResult result{-1, ""};
  char buffer[4096];
  while (size_t got = fread(buffer, 1, sizeof buffer, pipe)) result.output.append(buffer, got);
  const int status = pclose(pipe);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// failures.txt, the file CTest attaches to a failed test, holds the failures
// of this run only: a second run of the same failing test leaves one message,
// not two (the first run's would be uploaded as if it were new).
TEST(ChildProcess, FailuresTxtHoldsThisRunsFailuresOnly) {
  testing::TempDir dir;
  const std::string env = "DETLLM_ARTIFACTS_DIR='" + dir.path() + "'";
  const std::string filter = "--gtest_filter=DISABLED_DeliberatelyFailing.RunVariant";
  for (int run = 0; run < 2; ++run) EXPECT_EQ(run_self(filter, env).exit_status, 1);
  std::ifstream in(dir.path() + "/DISABLED_DeliberatelyFailing.RunVariant/failures.txt");
  const std::string text(std::istreambuf_iterator<char>(in), {});
  size_t messages = 0;
  for (size_t at = text.find("RUN_VARIANCE_FIXED_BATCH —"); at != std::string::npos;
       at = text.find("RUN_VARIANCE_FIXED_BATCH —", at + 1)) {
    ++messages;
  }
  EXPECT_EQ(messages, 1u) << text;
}

// Each assertion and each category, from a separate process as CI runs it:
// exit status, message, XML property and the pack on disk.
TEST(ChildProcess, FailingSuiteExitsNonZeroWithMessageXmlAndPack) {
  testing::TempDir dir;
  const std::string xml = dir.path() + "/report.xml";
  const ChildResult child =
      run_self("--gtest_filter='DISABLED_DeliberatelyFailing.*' --gtest_output=xml:" + xml,
               "DETLLM_ARTIFACTS_DIR='" + dir.path() + "/artifacts'");
  EXPECT_EQ(child.exit_status, 1) << child.output;
  for (const char* expected :
       {"BATCH_VARIANCE — batch size 4 diverged from batch size 1",
        "RUN_VARIANCE_FIXED_BATCH — run 1 diverged from run 0", "BATCH_VARIANCE — needle trial",
        "SCORE_VARIANCE — logprobs of run 1 differ from run 0",
        "ENV_MISMATCH — the environment changed before run 1",
        "UNSUPPORTED_REQUEST — tier 2 requires it, but model 'callable:no-logprobs' cannot give "
        "log-probabilities",
        "6 FAILED TESTS"}) {
    EXPECT_THAT(child.output, HasSubstr(expected));
  }
  std::ifstream in(xml);
  const std::string report((std::istreambuf_iterator<char>(in)), {});
  for (const char* test : {"BatchVariant", "RunVariant", "NeedleVariant", "ScoreVariant",
                           "EnvChanges", "Unsupported"}) {
    const std::string test_dir = dir.path() + "/artifacts/DISABLED_DeliberatelyFailing." + test;
    auto packs = internal::list_directory(test_dir);
    // failures.txt: what detllm_discover_tests attaches with ATTACHED_FILES_ON_FAIL.
    std::ifstream failures_file(test_dir + "/failures.txt");
    const std::string failures((std::istreambuf_iterator<char>(failures_file)), {});
    EXPECT_THAT(failures, HasSubstr("Value of: models()")) << test;
    packs.erase(std::remove(packs.begin(), packs.end(), "failures.txt"), packs.end());
    ASSERT_EQ(packs.size(), 1u) << test;
    const std::string pack = test_dir + "/" + packs[0];
    EXPECT_THAT(failures, HasSubstr("repro pack: " + pack)) << test;
    for (const char* file :
         {"report.json", "report.txt", "env.json", "run_config.json", "determinism_applied.json"}) {
      EXPECT_TRUE(std::ifstream(pack + "/" + file).good()) << test << " lacks " << file;
    }
    const bool diverged = std::string(test) != "Unsupported" && std::string(test) != "EnvChanges";
    EXPECT_EQ(std::ifstream(pack + "/diffs/first_divergence.json").good(), diverged) << test;
    EXPECT_THAT(report, HasSubstr("value=\"" + pack + "\""))
        << "the XML names the pack of " << test;
  }
}

// As `ctest -j 8` runs them: eight processes failing at once into one artifact
// root leave sixteen distinct, complete packs and no temporary directories.
TEST(ChildProcess, ConcurrentFailuresWriteDistinctCompletePacks) {
  testing::TempDir dir;
  const std::string root = dir.path() + "/artifacts";
  std::vector<FILE*> children;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  for (int i = 0; i < 8; ++i) {
    const std::string command = "DETLLM_ARTIFACTS_DIR='" + root + "' '" + self +
                                "' --gtest_also_run_disabled_tests "
                                "--gtest_filter='DISABLED_DeliberatelyFailing.BatchVariant:"
                                "DISABLED_DeliberatelyFailing.RunVariant' "
                                ">/dev/null 2>&1";
    children.push_back(popen(command.c_str(), "r"));
  }
  for (FILE* child : children) EXPECT_NE(pclose(child), 0);
  size_t packs = 0;
  for (const std::string& test : internal::list_directory(root)) {
    for (const std::string& pack : internal::list_directory(root + "/" + test)) {
      if (pack == "failures.txt") continue;
      EXPECT_NE(pack[0], '.') << "a temporary directory was left behind: " << pack;
      EXPECT_TRUE(std::ifstream(root + "/" + test + "/" + pack + "/report.json").good()) << pack;
      ++packs;
    }
  }
  EXPECT_EQ(packs, 16u);
}

}  // namespace
}  // namespace detllm
