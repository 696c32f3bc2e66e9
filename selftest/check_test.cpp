// check() and run() end to end: a passing built-in model, a negative control
// for every failure category from a real cause, the pack, and bad input.
#include "detllm_test/check.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/version.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "artifacts/file_util.h"
#include "artifacts/json_io.h"
#include "controls/control_table.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "detllm_test/options.h"
#include "test_models.h"

namespace detllm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;

const std::vector<Prompt> kPrompts = {"Choose one: A or B.", "The capital of France is",
                                      "def fibonacci(n):"};

class CheckTest : public ::testing::Test {
 protected:
  CheckOptions options(int runs = 3) {
    CheckOptions o;
    o.runs = runs;
    o.decoding.max_new_tokens = 8;
    o.out_dir = dir_.path();
    return o;
  }
  std::unique_ptr<Generator> torchscript(testing::Defect defect) {
    return load_torchscript_model(testing::write_torchscript_model(models_.path(), defect));
  }
  // Everything under the artifact root, hidden temporary directories too.
  std::vector<std::string> entries() { return internal::list_directory(dir_.path()); }
  testing::TempDir dir_;     // the artifact root
  testing::TempDir models_;  // model files, kept apart from the packs
};

json schema_required(const std::string& schema) {
  return internal::read_json_file(std::string(DETLLM_SCHEMA_DIR) + "/" + schema + ".json",
                                  "schema")["required"];
}

void expect_fields(const json& artifact, const std::string& schema) {
  for (const json& key : schema_required(schema)) {
    EXPECT_TRUE(artifact.contains(key.get<std::string>())) << schema << " lacks " << key;
  }
}

// Tier 1 across batch sizes: whether logprobs are bitwise equal across batch
// sizes depends on the BLAS (Debian's libtorch 1.13: yes; libtorch 2.11 on the
// same prompts: no, in the last bits), not on the harness.
TEST_F(CheckTest, BuiltinModelPassesAndWritesACompletePack) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  CheckOptions o = options();
  o.vary_batch = {1, 2, 8};
  CheckResult result = check(*model, kPrompts, o);
  ASSERT_TRUE(result.passed()) << render_text(result.report);
  EXPECT_EQ(result.report.category, Category::kPass);
  EXPECT_EQ(result.report.distinct_outputs, 1);
  EXPECT_EQ(result.report.batch_sizes, (std::vector<int>{1, 2, 8}));

  const std::string pack = result.pack_dir;
  ASSERT_TRUE(fs::is_directory(pack));
  for (const char* file :
       {"env.json", "run_config.json", "determinism_applied.json", "trace.jsonl", "report.json",
        "report.txt", "envs/run_0.json", "envs/run_2.json", "traces/run_0.jsonl",
        "traces/run_2.jsonl", "traces/batch_2.jsonl", "traces/batch_8.jsonl"}) {
    EXPECT_TRUE(fs::exists(pack + "/" + file)) << file;
  }
  EXPECT_FALSE(fs::exists(pack + "/diffs/first_divergence.json"));
  expect_fields(internal::read_json_file(pack + "/env.json", "env"), "env_snapshot");
  expect_fields(internal::read_json_file(pack + "/run_config.json", "run_config"), "run_config");
  expect_fields(internal::read_json_file(pack + "/determinism_applied.json", "applied"),
                "determinism_applied");
  const json report = internal::read_json_file(pack + "/report.json", "report");
  expect_fields(report, "report");
  EXPECT_EQ(report["status"], "PASS");
  for (const char* key :
       {"runs", "batch_sizes", "baseline_batch_size", "first_divergence", "batch_divergence"}) {
    EXPECT_TRUE(report["details"].contains(key)) << key;
  }
  for (const TraceRow& row : read_trace(pack + "/trace.jsonl")) {
    EXPECT_EQ(row.generated_token_ids.size(), 8u);
    EXPECT_TRUE(row.scores.has_value());
  }
  EXPECT_EQ(entries().size(), 1u) << "a temporary directory was left behind";
}

TEST_F(CheckTest, BuiltinModelIsBitwiseRepeatableOnCpu) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  CheckOptions o = options(3);
  o.determinism.tier = 2;
  CheckResult result = check(*model, kPrompts, o);
  EXPECT_TRUE(result.passed()) << render_text(result.report);
}

// Temperature as OpenAI's API reads it: 0 is greedy, recorded as greedy always
// was; 1 samples (seeded, so repeatable), and draws other tokens than greedy.
TEST_F(CheckTest, TemperatureOneSamplesAndZeroIsGreedy) {
  CheckOptions greedy = options(2), sampled = options(2);
  internal::apply(greedy, Temperature(0));
  internal::apply(sampled, Temperature(1));
  internal::apply(sampled, Seed(3));
  EXPECT_FALSE(greedy.decoding.do_sample);
  EXPECT_EQ(greedy.decoding.temperature, 1.0);
  EXPECT_TRUE(sampled.decoding.do_sample);
  auto model = make_builtin_model(BuiltinConfig::tiny());
  const CheckResult a = check(*model, kPrompts, greedy), b = check(*model, kPrompts, sampled);
  EXPECT_TRUE(a.passed() && b.passed()) << render_text(b.report);
  EXPECT_TRUE(b.runs.at(0).at(0).decoding_do_sample);
  bool differs = false;
  for (size_t i = 0; i < kPrompts.size(); ++i)
    differs = differs || a.runs[0][i].generated_token_ids != b.runs[0][i].generated_token_ids;
  EXPECT_TRUE(differs) << "temperature 1 decoded greedily";
  CheckOptions negative = options(1);
  internal::apply(negative, Temperature(-1));
  EXPECT_THROW(check(*model, kPrompts, negative), Error);
}

// A batch of 8 over one prompt really is a batch of 8, with fillers of other lengths.
TEST_F(CheckTest, BuildsRealBatchesWithFillerPrompts) {
  std::vector<std::vector<size_t>> seen;
  ModelInfo info;
  info.name = "callable:spy";
  auto model = make_callable_model(
      [&](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        std::vector<size_t> lengths;
        for (const TokenIds& ids : batch) lengths.push_back(ids.size());
        seen.push_back(lengths);
        return std::vector<Generation>(batch.size(),
                                       Generation{TokenIds(config.max_new_tokens, 1), {}, {}});
      },
      info);
  CheckOptions o = options(1);
  o.out_dir.clear();
  o.vary_batch = {8};
  ASSERT_TRUE(check(*model, {"one prompt"}, o).passed());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].size(), 1u);
  ASSERT_EQ(seen[1].size(), 8u);
  EXPECT_EQ(seen[1][0], 10u);
  EXPECT_GT(*std::max_element(seen[1].begin() + 1, seen[1].end()), 10u)
      << "no longer filler: no padding";
  EXPECT_LT(*std::min_element(seen[1].begin() + 1, seen[1].end()), 10u);
}

// RUN_VARIANCE_FIXED_BATCH from a real cause: the model draws from the global
// generator on every call (dropout left on), which the harness seeds once.
TEST_F(CheckTest, CatchesRunVarianceFromDropoutLeftOn) {
  auto model = torchscript(testing::Defect::kDropoutLeftOn);
  CheckResult result = check(*model, kPrompts, options(4));
  EXPECT_FALSE(result.passed());
  EXPECT_EQ(result.report.category, Category::kRunVarianceFixedBatch);
  EXPECT_GT(result.report.distinct_outputs, 1);
  ASSERT_TRUE(result.report.first_divergence);
  EXPECT_EQ(result.report.first_divergence->left_label, "run 0");
  EXPECT_NE(result.report.first_divergence->left_token,
            result.report.first_divergence->right_token);
  const json first =
      internal::read_json_file(result.pack_dir + "/diffs/first_divergence.json", "divergence");
  expect_fields(first, "first_divergence");
  EXPECT_THAT(internal::read_json_file(result.pack_dir + "/report.json", "r")["category"],
              "RUN_VARIANCE_FIXED_BATCH");
}

// RUN_VARIANCE_FIXED_BATCH from an unseeded random source inside a C++ engine.
TEST_F(CheckTest, CatchesRunVarianceFromAnUnseededRandomSource) {
  auto inner = make_builtin_model(BuiltinConfig::tiny());
  ModelInfo info;
  info.name = "callable:unseeded";
  std::random_device entropy;
  auto model = make_callable_model(
      [&](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        GenerationConfig sampled = config;
        sampled.do_sample = true;
        sampled.seed = entropy();  // the bug: a seed nobody controls
        return inner->generate(batch, sampled);
      },
      info);
  CheckResult result = check(*model, kPrompts, options(3));
  EXPECT_EQ(result.report.category, Category::kRunVarianceFixedBatch);
}

// State that leaks from one call into the next: only the first (cold) call
// differs, and the report says so.

// keep_passing_pack = false (what the assertions use): a passing check leaves
// no file, a failing one its whole pack.
TEST_F(CheckTest, WritesThePackOnlyOnFailureWhenAsked) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  CheckOptions o = options(2);
  o.keep_passing_pack = false;
  CheckResult passed = check(*model, kPrompts, o);
  ASSERT_TRUE(passed.passed());
  EXPECT_EQ(passed.pack_dir, "");
  EXPECT_THAT(entries(), ::testing::IsEmpty());

  auto dropout = torchscript(testing::Defect::kDropoutLeftOn);
  CheckResult failed = check(*dropout, kPrompts, o);
  ASSERT_EQ(failed.report.category, Category::kRunVarianceFixedBatch);
  ASSERT_NE(failed.pack_dir, "");
  for (const char* file :
       {"env.json", "run_config.json", "envs/run_1.json", "traces/run_1.jsonl", "trace.jsonl",
        "report.json", "report.txt", "diffs/first_divergence.json"}) {
    EXPECT_TRUE(fs::exists(fs::path(failed.pack_dir) / file)) << file;
  }
  EXPECT_EQ(entries().size(), 1u);  // the pack; no temporary directory
}
TEST_F(CheckTest, NamesAColdFirstCall) {
  auto inner = make_builtin_model(BuiltinConfig::tiny());
  ModelInfo info;
  info.name = "callable:cold-start";
  bool warmed_up = false;
  auto model = make_callable_model(
      [&](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        GenerationConfig first_call = config;
        if (!warmed_up) first_call.max_new_tokens = config.max_new_tokens - 1;  // a cold-path bug
        warmed_up = true;
        return inner->generate(batch, first_call);
      },
      info);
  CheckResult result = check(*model, kPrompts, options(4));
  EXPECT_EQ(result.report.category, Category::kRunVarianceFixedBatch);
  EXPECT_TRUE(result.report.cold_start_differs);
  EXPECT_THAT(render_text(result.report), HasSubstr("cold start"));
}

// A preflight warms the model up, so the same cold-path bug goes unnoticed:
// why RunOptions::preflight is off by default.
TEST_F(CheckTest, APreflightHidesAColdFirstCall) {
  auto inner = make_builtin_model(BuiltinConfig::tiny());
  bool warmed_up = false;
  auto model = make_callable_model(
      [&](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        auto out = inner->generate(batch, config);
        if (!warmed_up) out[0].tokens.back() ^= 1;  // a cold-path bug
        warmed_up = true;
        return out;
      },
      ModelInfo{});
  CheckOptions o = options(3);
  o.preflight = true;
  EXPECT_TRUE(check(*model, kPrompts, o).passed());
}

// An op without a deterministic kernel (put_ with duplicate indices, refused on
// every device) is named with what to do instead: by run 0's first forward pass,
// or before any run with a preflight. Either way no pack is left half-written.
TEST_F(CheckTest, NamesAnOpWithoutADeterministicKernel) {
  auto model = torchscript(testing::Defect::kPutOverwrites);
  CheckOptions o = options(2);
  EXPECT_ERROR_MENTIONS(check(*model, kPrompts, o),
                        "put_ has no deterministic kernel on this device");
  EXPECT_ERROR_MENTIONS(check(*model, kPrompts, o), "index_copy_ or scatter_ with unique indices");
  o.preflight = true;
  EXPECT_ERROR_MENTIONS(check(*model, kPrompts, o),
                        "preflight forward pass failed: TorchScript model");
  EXPECT_ERROR_MENTIONS(run(*model, kPrompts, o), "preflight forward pass failed");
  EXPECT_THAT(entries(), ::testing::IsEmpty());
  // Without the control the same model runs (put_ is sequential on the CPU).
  o.determinism.deterministic_algorithms = false;
  EXPECT_TRUE(check(*model, kPrompts, o).passed());
}

// BATCH_VARIANCE from the classic bug: attention ignores the padding mask.
TEST_F(CheckTest, CatchesBatchVarianceFromIgnoredPaddingMask) {
  CheckOptions o = options(2);
  o.vary_batch = {1, 4};
  CheckResult correct = check(*torchscript(testing::Defect::kNone), kPrompts, o);
  EXPECT_TRUE(correct.passed()) << correct.report.headline();  // positive control

  CheckResult result = check(*torchscript(testing::Defect::kIgnoresPadding), kPrompts, o);
  EXPECT_FALSE(result.passed());
  EXPECT_EQ(result.report.category, Category::kBatchVariance);
  ASSERT_TRUE(result.report.batch_divergence);
  EXPECT_EQ(result.report.batch_divergence->left_label, "batch size 1");
  EXPECT_EQ(result.report.batch_divergence->right_label, "batch size 4");
  EXPECT_FALSE(result.report.first_divergence);  // repeatable at a fixed batch size
}

// Needle mode: each prompt alone among fillers at random positions and sizes.
TEST_F(CheckTest, NeedleModeCatchesBatchVariance) {
  CheckOptions o = options(1);
  o.needle_trials = 3;
  o.needle_max_batch_size = 8;
  CheckResult correct = check(*torchscript(testing::Defect::kNone), kPrompts, o);
  EXPECT_TRUE(correct.passed()) << correct.report.headline();
  ASSERT_EQ(correct.needle_traces.size(), 3u);
  EXPECT_TRUE(fs::exists(correct.pack_dir + "/traces/needle_2.jsonl"));
  bool some_not_first = false;
  for (const Trace& trial : correct.needle_traces) {
    for (const TraceRow& row : trial) {
      EXPECT_GE(row.batch_size, 2);
      EXPECT_LE(row.batch_size, 8);
      some_not_first = some_not_first || row.batch_position > 0;
    }
  }
  EXPECT_TRUE(some_not_first) << "needles were never placed after position 0";

  CheckResult result = check(*torchscript(testing::Defect::kIgnoresPadding), kPrompts, o);
  EXPECT_EQ(result.report.category, Category::kBatchVariance);
  ASSERT_TRUE(result.report.batch_divergence);
  EXPECT_THAT(result.report.batch_divergence->right_label, HasSubstr("needle trial"));
}

// SCORE_VARIANCE: noise too small to flip any argmax changes the logprobs.
TEST_F(CheckTest, CatchesScoreVarianceOnlyAtTier2) {
  auto model = torchscript(testing::Defect::kTinyNoise);
  CheckOptions o = options(3);
  CheckResult tier1 = check(*model, kPrompts, o);
  EXPECT_TRUE(tier1.passed()) << tier1.report.headline();
  EXPECT_THAT(tier1.report.notes, Contains(HasSubstr("logprobs differ")));

  o.determinism.tier = 2;
  CheckResult tier2 = check(*model, kPrompts, o);
  EXPECT_EQ(tier2.report.category, Category::kScoreVariance);
  ASSERT_TRUE(tier2.report.first_divergence);
  EXPECT_EQ(tier2.report.first_divergence->left_token, tier2.report.first_divergence->right_token);
  EXPECT_NE(*tier2.report.first_divergence->left_logprob,
            *tier2.report.first_divergence->right_logprob);
}

// ENV_MISMATCH: a determinism-relevant variable changes between runs.
TEST_F(CheckTest, CatchesAnEnvironmentChangeBetweenRuns) {
  auto inner = make_builtin_model(BuiltinConfig::tiny());
  ModelInfo info;
  info.name = "callable:sets-omp-threads";
  auto model = make_callable_model(
      [&](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        setenv("OMP_NUM_THREADS", "7", 1);  // e.g. a library configuring itself lazily
        return inner->generate(batch, config);
      },
      info);
  unsetenv("OMP_NUM_THREADS");
  CheckResult result = check(*model, kPrompts, options(2));
  unsetenv("OMP_NUM_THREADS");
  EXPECT_EQ(result.report.category, Category::kEnvMismatch);
  EXPECT_EQ(result.report.env_mismatch_run, 1);
  EXPECT_THAT(result.report.env_differences, Contains("env_vars.OMP_NUM_THREADS"));
  EXPECT_NE(internal::read_json_file(result.pack_dir + "/envs/run_0.json", "e")["fingerprint"],
            internal::read_json_file(result.pack_dir + "/envs/run_1.json", "e")["fingerprint"]);
}

// ENV_MISMATCH from each libtorch switch the env snapshot once missed, and from
// each 2.x switch: a model that flips it during every call. A switch this
// libtorch does not have is skipped, naming the version.
class FlipsAControl : public CheckTest, public ::testing::WithParamInterface<const char*> {};

// What the model does to flip `control`: a legacy setter where a user's model
// would call one (setFloat32MatmulPrecision shows as oneDNN's bf16 from 2.11),
// else the switch's own at::Context setter, as the control table calls it.
void flip(const std::string& control) {
  at::Context& context = at::globalContext();
  if (control == "float32_matmul_precision" || control == "fp32_precision_mkldnn_matmul") {
    context.setFloat32MatmulPrecision("medium");
    return;
  }
  if (control == "deterministic_algorithms") {
    context.setDeterministicAlgorithms(true, true);
    return;
  }
  for (const internal::Control& c : internal::controls()) {
    if (c.name == control && c.write) c.write(c.read() == "on" ? "off" : "on");
  }
}

TEST_P(FlipsAControl, BetweenRunsIsAnEnvironmentMismatch) {
  const std::string control = GetParam();
  const json runtime = capture_env()["torch"]["runtime"];
  if (!runtime.contains(control) || runtime[control] == "unavailable" ||
      runtime[control] == "absent") {
    GTEST_SKIP() << "libtorch " TORCH_VERSION " has no " << control;
  }
  auto inner = make_builtin_model(BuiltinConfig::tiny());
  ModelInfo info;
  info.name = "callable:flips-" + control;
  auto model = make_callable_model(
      [&](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        flip(control);
        return inner->generate(batch, config);
      },
      info);
  CheckResult result = check(*model, kPrompts, options(2));
  EXPECT_EQ(result.report.category, Category::kEnvMismatch) << render_text(result.report);
  EXPECT_EQ(result.report.env_mismatch_run, 1);
  EXPECT_THAT(result.report.env_differences, Contains("torch.runtime." + control));
  EXPECT_THAT(render_text(result.report), AllOf(HasSubstr("environment changed before run 1: "),
                                                HasSubstr("torch.runtime." + control)));
}
INSTANTIATE_TEST_SUITE_P(Controls, FlipsAControl,
                         ::testing::Values("float32_matmul_precision",
                                           "fp32_precision_mkldnn_matmul",
                                           "bf16_reduced_precision_reduction",
                                           "deterministic_algorithms", "sdpa_flash",
                                           "deterministic_fill_uninitialized_memory",
                                           "deterministic_mkldnn", "fp16_accumulation_cublas"));

std::unique_ptr<Generator> model_without_logprobs(Generator& inner) {
  ModelInfo info;
  info.name = "callable:no-logprobs";
  info.capabilities.logprobs = false;
  return make_callable_model(
      [&inner](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        auto out = inner.generate(batch, config);
        for (Generation& g : out) g.logprobs.clear();
        return out;
      },
      info);
}

// UNSUPPORTED_REQUEST: tier 2 in strict mode on a model without logprobs.
TEST_F(CheckTest, StrictTier2WithoutLogprobsIsUnsupported) {
  auto inner = make_builtin_model(BuiltinConfig::tiny());
  auto model = model_without_logprobs(*inner);
  CheckOptions o = options(2);
  o.determinism.tier = 2;
  o.determinism.mode = Mode::kStrict;
  CheckResult strict = check(*model, kPrompts, o);
  EXPECT_EQ(strict.report.category, Category::kUnsupportedRequest);
  EXPECT_THAT(strict.report.headline(), HasSubstr("cannot give log-probabilities"));
  EXPECT_TRUE(fs::exists(strict.pack_dir + "/report.json"));

  o.determinism.mode = Mode::kBestEffort;
  CheckResult best = check(*model, kPrompts, o);
  EXPECT_TRUE(best.passed());
  EXPECT_EQ(best.report.tier_effective, 1);
  const json applied = internal::read_json_file(best.pack_dir + "/determinism_applied.json", "a");
  EXPECT_EQ(applied["downgrades"].size(), 1u);
  EXPECT_EQ(applied["tier_effective"], 1);
}

TEST_F(CheckTest, Tier0RecordsButAssertsNothing) {
  auto model = torchscript(testing::Defect::kDropoutLeftOn);
  CheckOptions o = options(3);
  o.determinism.tier = 0;
  CheckResult result = check(*model, kPrompts, o);
  EXPECT_TRUE(result.passed());
  EXPECT_THAT(result.report.notes, Contains(HasSubstr("observed RUN_VARIANCE_FIXED_BATCH")));
}

TEST_F(CheckTest, ReportsProgressAfterEveryBatch) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  CheckOptions o = options(2);
  o.vary_batch = {1, 2};
  std::vector<Progress> seen;
  o.on_progress = [&](const Progress& p) { seen.push_back(p); };
  check(*model, kPrompts, o);
  ASSERT_EQ(seen.size(), 3u + 3u + 2u);  // 3 batches per run at size 1, 2 at size 2
  EXPECT_EQ(seen[0].phase, "run 1 of 2");
  EXPECT_EQ(seen[2].prompts_done, 3);
  EXPECT_EQ(seen.back().phase, "batch size 2");
  EXPECT_EQ(seen.back().prompts_done, 3);
  EXPECT_EQ(seen.back().tokens_generated, (3 + 3) * 8 + 4 * 8);  // filler rows count too
}

TEST_F(CheckTest, RunWritesARunPack) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  RunResult result = run(*model, kPrompts, options());
  for (const char* file :
       {"env.json", "run_config.json", "determinism_applied.json", "trace.jsonl"}) {
    EXPECT_TRUE(fs::exists(result.pack_dir + "/" + file)) << file;
  }
  EXPECT_EQ(read_trace(result.pack_dir + "/trace.jsonl").size(), kPrompts.size());
}

TEST_F(CheckTest, BadInputIsAClearErrorAndLeavesNoPack) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  CheckOptions o = options();
  EXPECT_ERROR_MENTIONS(check(*model, {}, o), "no prompts");
  EXPECT_ERROR_MENTIONS(check(*model, {"ok", ""}, o), "prompt #1 is empty");
  o.batch_size = 0;
  EXPECT_ERROR_MENTIONS(check(*model, kPrompts, o), "batch size 0 is invalid");
  o = options();
  o.vary_batch = {1, 0};
  EXPECT_ERROR_MENTIONS(check(*model, kPrompts, o), "batch size 0 in vary_batch is invalid");
  o = options();
  o.runs = 0;
  EXPECT_ERROR_MENTIONS(check(*model, kPrompts, o), "runs 0 is invalid: it must be from 1 to 1000");
  o = options();
  o.batch_size = 100000;  // would pad one prompt to 100,000 rows for minutes
  EXPECT_ERROR_MENTIONS(check(*model, kPrompts, o),
                        "batch size 100000 is invalid: it must be from 1 to 1024");
  o = options();
  o.vary_batch = {1, 5000};
  EXPECT_ERROR_MENTIONS(check(*model, kPrompts, o), "batch size 5000 in vary_batch is invalid");
  o = options();
  o.decoding.max_new_tokens = 1000000;
  EXPECT_ERROR_MENTIONS(check(*model, kPrompts, o), "max_new_tokens 1000000 is invalid");
  o = options();
  o.vary_batch = {1, 1024};  // 1024 rows of 5000 tokens: refused before allocating
  EXPECT_ERROR_MENTIONS(check(*model, {std::string(5000, 'x')}, o),
                        "a batch of 1024 prompts of up to 5000 tokens, generating");
  o = options();
  o.determinism.tier = 5;
  EXPECT_ERROR_MENTIONS(check(*model, kPrompts, o), "tier 5 does not exist");
  o = options();
  testing::TempDir elsewhere;
  std::ofstream(elsewhere.path() + "/file") << "x";
  o.out_dir = elsewhere.path() + "/file/packs";
  EXPECT_ERROR_MENTIONS(check(*model, kPrompts, o), "cannot create artifact directory");

  // NaN mid-check: a clear error naming the prompt and step, and no pack at all.
  auto nan = torchscript(testing::Defect::kNanAfter12);
  EXPECT_ERROR_MENTIONS(check(*nan, {"0123456789"}, options()),
                        "NaN or infinite logits for prompt #0 \"0123456789\" at generated token 2");
  EXPECT_TRUE(entries().empty()) << "a half-written pack was left behind";
  // Wrong logits shape.
  EXPECT_ERROR_MENTIONS(check(*torchscript(testing::Defect::kFlatLogits), kPrompts, options()),
                        "returned logits of shape");
  EXPECT_TRUE(entries().empty());
}

TEST_F(CheckTest, ReportTextNamesWhereAndWhy) {
  auto model = torchscript(testing::Defect::kDropoutLeftOn);
  CheckResult result = check(*model, kPrompts, options(3));
  std::ifstream in(result.pack_dir + "/report.txt");
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_THAT(text, HasSubstr("FAIL — RUN_VARIANCE_FIXED_BATCH"));
  EXPECT_THAT(text, HasSubstr("distinct outputs in 3 runs"));
  EXPECT_THAT(text, HasSubstr("at generated token"));
  EXPECT_THAT(text, HasSubstr("logprob"));
  EXPECT_THAT(text, HasSubstr("margin"));
  EXPECT_THAT(text, HasSubstr("controls: deterministic_algorithms=on"));
  EXPECT_THAT(text, HasSubstr("repro pack: " + result.pack_dir));
}

}  // namespace
}  // namespace detllm
