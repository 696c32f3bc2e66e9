// The determinism scope, capability gating and environment capture.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/version.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "detllm_test/determinism.h"
#include "detllm_test/env.h"
#include "detllm_test/error.h"

// libtorch 2.11's enum float32-precision API replaces the legacy TF32 switches.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 11)
#define DETLLM_TEST_FP32_PRECISION_API 1
#endif

namespace detllm {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;

// The controls' global state as seen from outside the library.
json observed_controls() {
  json snapshot = capture_env();
  return snapshot["torch"]["runtime"];
}

TEST(DeterminismScope, AppliesEveryControlAndRestoresTheStateOnExit) {
  unsetenv("CUBLAS_WORKSPACE_CONFIG");
  const json before = observed_controls();
  ASSERT_EQ(before["deterministic_algorithms"], "off") << "the test needs the default state";
  DeterminismOptions options;
  options.threads = 1;
  {
    DeterminismScope scope(options);
    const json inside = observed_controls();
    EXPECT_EQ(inside["deterministic_algorithms"], "on");
    EXPECT_EQ(inside["cudnn_deterministic"], "on");
    EXPECT_EQ(inside["cudnn_benchmark"], "off");
#ifdef DETLLM_TEST_FP32_PRECISION_API
    for (const char* name : {"fp32_precision_cuda_matmul", "fp32_precision_cuda_conv",
                             "fp32_precision_cuda_rnn", "fp32_precision_mkldnn_matmul",
                             "fp32_precision_mkldnn_conv", "fp32_precision_mkldnn_rnn"}) {
      EXPECT_EQ(inside[name], "ieee") << name;
    }
    EXPECT_FALSE(inside.contains("tf32_cublas")) << "the legacy switches are not mixed in";
#else
    EXPECT_EQ(inside["tf32_cublas"], "off");
    EXPECT_EQ(inside["tf32_cudnn"], "off");
    EXPECT_EQ(inside["float32_matmul_precision"], "highest");
#endif
    EXPECT_EQ(inside["fp16_reduced_precision_reduction"], "off (split-K allowed)");
    EXPECT_TRUE(inside.contains("bf16_reduced_precision_reduction"));
    EXPECT_EQ(inside["threads"], "1");
    EXPECT_EQ(inside["num_threads"], 1);
    EXPECT_STREQ(std::getenv("CUBLAS_WORKSPACE_CONFIG"), ":4096:8");
    const DeterminismRecord& record = scope.record();
    EXPECT_EQ(record.find("deterministic_algorithms")->effective, "on");
    EXPECT_EQ(record.find("CUBLAS_WORKSPACE_CONFIG")->previous, "(unset)");
    EXPECT_EQ(record.find("threads")->effective, "1");
    EXPECT_THAT(record.summary(), HasSubstr("deterministic_algorithms=on tf32=off "
                                            "CUBLAS_WORKSPACE_CONFIG=:4096:8 seed=0 threads=1"));
  }
  EXPECT_EQ(observed_controls(), before);
  EXPECT_EQ(std::getenv("CUBLAS_WORKSPACE_CONFIG"), nullptr);
}

// The snapshot records every libtorch control the scope sets, so a model that
// flips any of them between runs changes the fingerprint (ENV_MISMATCH).
TEST(DeterminismScope, TheSnapshotRecordsEveryControlItSets) {
  const json runtime = observed_controls();
  DeterminismScope scope(DeterminismOptions{});
  for (const AppliedControl& control : scope.record().controls) {
    if (control.group == "torch") {
      EXPECT_TRUE(runtime.contains(control.name)) << control.name;
    }
  }
}

TEST(DeterminismScope, WarnOnlyIsAppliedRecordedAndRestored) {
  const json before = observed_controls();
  DeterminismOptions options;
  options.warn_only = true;
  {
    DeterminismScope scope(options);
    EXPECT_EQ(observed_controls()["deterministic_algorithms"], "on (warn only)");
    EXPECT_TRUE(scope.record().find("deterministic_algorithms")->honoured);
  }
  EXPECT_EQ(observed_controls(), before);
}

TEST(DeterminismScope, RestoresTheGlobalGeneratorsState) {
  at::manual_seed(123);
  const at::Tensor expected = at::rand({4});
  at::manual_seed(123);
  {
    DeterminismScope scope(DeterminismOptions{});  // seeds 0, draws
    at::rand({8});
  }
  EXPECT_TRUE(at::equal(at::rand({4}), expected));
}

TEST(DeterminismScope, RecordsTheArtifactWithEveryRequiredField) {
  DeterminismScope scope(DeterminismOptions{});
  const json applied = determinism_applied_json(scope.record());
  for (const char* key : {"schema_version", "detllm_version", "artifact_type", "tier_requested",
                          "tier_effective", "mode", "seed", "seed_controls", "torch_controls",
                          "env_controls", "downgrades", "warnings", "capability_failures"}) {
    EXPECT_TRUE(applied.contains(key)) << key;
  }
  EXPECT_EQ(applied["artifact_type"], "determinism_applied");
  EXPECT_EQ(applied["torch_controls"]["deterministic_algorithms"]["effective"], "on");
  EXPECT_EQ(applied["seed_controls"]["torch_manual_seed"]["effective"], "0");
  EXPECT_TRUE(applied["env_controls"].contains("CUBLAS_WORKSPACE_CONFIG"));
}

// TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1: libtorch 1.13's getter ORs it into the
// switch, so TF32 stays on and the tier is lowered; from 2.11 it is only the
// default, which the scope sets to ieee over, and reads back. The checks, as
// an exit status (0: all hold), for a process that had the variable from its
// start: libtorch reads it once, at its first look.
int tf32_override_outcome() {
  int failures = 0;
  auto expect = [&](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "not so: %s\n", what);
      ++failures;
    }
  };
  DeterminismScope scope(DeterminismOptions{}, "cuda");
  ModelInfo info;
  info.device = "cuda";
  DeterminismRecord record = scope.record();
  gate_tier(info, record);
#ifdef DETLLM_TEST_FP32_PRECISION_API
  const AppliedControl* matmul = scope.record().find("fp32_precision_cuda_matmul");
  expect(matmul->effective == "ieee" && matmul->honoured, "CUDA matmuls set to ieee over it");
  expect(at::globalContext().float32Precision(at::Float32Backend::CUDA, at::Float32Op::MATMUL) ==
             at::Float32Precision::IEEE,
         "libtorch reads ieee back");
  expect(scope.record().find("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE")->honoured, "override defeated");
  expect(record.tier_effective == 1, "tier 1 kept");
#else
  const AppliedControl* tf32 = scope.record().find("tf32_cublas");
  expect(tf32->effective == "on", "tf32_cublas reads on");
  expect(!tf32->honoured, "tf32_cublas not honoured");
  expect(record.tier_effective == 0 && !record.downgrades.empty(),
         "best-effort: downgraded to tier 0, recorded");
#endif
  return failures == 0 ? 0 : 1;
}

// In a child process that has the variable from its start (a death test that
// re-executes this binary), so that it holds whatever ran before in this one.
TEST(DeterminismScopeDeathTest, ReadsBackTf32EnvironmentOverrides) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  setenv("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "1", 1);
  EXPECT_EXIT(std::exit(tf32_override_outcome()), ::testing::ExitedWithCode(0), "");
  unsetenv("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE");
}

// The 2.x switches, read back from libtorch itself (not from the record), and
// restored; on 1.13 they are absent and a request for them is recorded as unmet.
TEST(DeterminismScope, AppliesReadsBackAndRestoresThe2xSwitches) {
  const json before = observed_controls();
#if TORCH_VERSION_MAJOR < 2
  EXPECT_FALSE(before.contains("deterministic_fill_uninitialized_memory"));
  GTEST_SKIP() << "libtorch " TORCH_VERSION " has none of the 2.x switches";
#else
  at::Context& context = at::globalContext();
  context.setDeterministicFillUninitializedMemory(false);  // a state the scope must change
  const json changed = observed_controls();
  {
    DeterminismScope scope(DeterminismOptions{});
    EXPECT_TRUE(context.deterministicFillUninitializedMemory());
    EXPECT_EQ(scope.record().find("deterministic_fill_uninitialized_memory")->previous, "off");
    for (const char* name : {"sdpa_math", "sdpa_flash", "sdpa_mem_efficient"}) {
      ASSERT_NE(scope.record().find(name), nullptr) << name;
      EXPECT_EQ(scope.record().find(name)->requested, "(unchanged)") << name;
    }
    EXPECT_TRUE(context.userEnabledFlashSDP());  // libtorch's choice, left alone
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 11)
    EXPECT_TRUE(context.deterministicMkldnn());
    EXPECT_FALSE(context.allowFP16AccumulationCuBLAS());
    EXPECT_EQ(scope.record().find("deterministic_mkldnn")->effective, "on");
    EXPECT_EQ(scope.record().find("fp16_accumulation_cublas")->effective, "off");
    EXPECT_TRUE(scope.record().find("sdpa_cudnn") != nullptr);
#endif
  }
  EXPECT_FALSE(context.deterministicFillUninitializedMemory());
  EXPECT_EQ(observed_controls(), changed);
  context.setDeterministicFillUninitializedMemory(true);
  EXPECT_EQ(observed_controls(), before);
#endif
}

// Split-K is its own option: on 2.x the reductions read back "off (no split-K)"
// from libtorch's CuBLASReductionOption; 1.13 cannot, and says so on CUDA.
TEST(DeterminismScope, DisallowsSplitKOnRequest) {
  DeterminismOptions options;
  options.cublas_split_k = false;
  const json before = observed_controls();
  {
    DeterminismScope scope(options, "cuda");
    const AppliedControl* fp16 = scope.record().find("fp16_reduced_precision_reduction");
    EXPECT_EQ(fp16->requested, "off (no split-K)");
#if TORCH_VERSION_MAJOR >= 2
    EXPECT_EQ(at::globalContext().allowFP16ReductionCuBLAS(),
              at::CuBLASReductionOption::DisallowReducedPrecisionDisallowSplitK);
    EXPECT_EQ(at::globalContext().allowBF16ReductionCuBLAS(),
              at::CuBLASReductionOption::DisallowReducedPrecisionDisallowSplitK);
    EXPECT_EQ(fp16->effective, "off (no split-K)");
    EXPECT_TRUE(fp16->honoured);
    EXPECT_EQ(observed_controls()["bf16_reduced_precision_reduction"], "off (no split-K)");
#else
    EXPECT_EQ(fp16->effective, "off (split-K allowed)");
    EXPECT_FALSE(fp16->honoured);
    EXPECT_THAT(fp16->note, HasSubstr("cannot disallow cuBLAS split-K"));
#endif
  }
  EXPECT_EQ(observed_controls(), before);
}

// Allowed, split-K is said too (by default, as libtorch does): a pack of a
// run where cuBLAS could split K says so, not a bare "off".
TEST(DeterminismScope, SaysSplitKWasAllowed) {
  DeterminismScope scope(DeterminismOptions{}, "cuda");
  const AppliedControl* fp16 = scope.record().find("fp16_reduced_precision_reduction");
  ASSERT_NE(fp16, nullptr);
  EXPECT_EQ(fp16->requested, "off (split-K allowed)");
  EXPECT_EQ(fp16->effective, "off (split-K allowed)");
  EXPECT_TRUE(fp16->honoured);
  EXPECT_THAT(determinism_applied_json(scope.record()).dump(), HasSubstr("off (split-K allowed)"));
}

TEST(DeterminismScope, ChoosesTheAttentionBackendsOnRequestAndRestoresThem) {
  DeterminismOptions options;
  options.sdpa_backends = {"math"};
  const json before = observed_controls();
  {
    DeterminismScope scope(options);
    const at::Context& context = at::globalContext();
    EXPECT_TRUE(context.userEnabledMathSDP());
    EXPECT_FALSE(context.userEnabledFlashSDP());
    EXPECT_EQ(scope.record().find("sdpa_math")->effective, "on");
    EXPECT_EQ(scope.record().find("sdpa_flash")->effective, "off");
    EXPECT_TRUE(scope.record().find("sdpa_flash")->honoured);
#if TORCH_VERSION_MAJOR >= 2
    EXPECT_FALSE(context.userEnabledMemEfficientSDP());
    EXPECT_EQ(scope.record().find("sdpa_mem_efficient")->effective, "off");
#else
    EXPECT_EQ(scope.record().find("sdpa_mem_efficient")->effective, "absent");
    EXPECT_TRUE(scope.record().find("sdpa_mem_efficient")->honoured);  // off: it has none
#endif
  }
  EXPECT_EQ(observed_controls(), before);
#if TORCH_VERSION_MAJOR < 2
  // Allowing a backend libtorch has no switch for is unmet, and says why.
  options.sdpa_backends = {"math", "cudnn"};
  {
    DeterminismScope scope(options, "cuda");
    EXPECT_FALSE(scope.record().find("sdpa_cudnn")->honoured);
    EXPECT_THAT(scope.record().find("sdpa_cudnn")->note,
                HasSubstr("has no switch for the cudnn attention backend"));
  }
#endif
  EXPECT_EQ(observed_controls(), before);
  options.sdpa_backends = {"math", "fastest"};
  EXPECT_THROW(
      {
        try {
          DeterminismScope scope(options);
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), HasSubstr("unknown attention backend 'fastest'"));
          throw;
        }
      },
      Error);
  EXPECT_EQ(observed_controls(), before);
}

#ifdef DETLLM_TEST_FP32_PRECISION_API
// The scope sets the enum API alone and restores it, so a user's legacy getter
// works again after it (2.x getters throw "mix of legacy and new APIs" when the
// two disagree).
TEST(DeterminismScope, LeavesTheLegacyTf32GettersWorkingAfterIt) {
  { DeterminismScope scope(DeterminismOptions{}, "cuda"); }
  EXPECT_NO_THROW(at::globalContext().allowTF32CuBLAS());
  EXPECT_NO_THROW(at::globalContext().allowTF32CuDNN());
  EXPECT_NO_THROW(at::globalContext().float32MatmulPrecision());
}
#endif

DeterminismRecord record_for(int tier, Mode mode) {
  DeterminismRecord record;
  record.tier_requested = tier;
  record.mode = mode;
  return record;
}

TEST(GateTier, StrictFailsAndBestEffortDowngrades) {
  ModelInfo no_logprobs;
  no_logprobs.name = "m";
  no_logprobs.capabilities.logprobs = false;

  DeterminismRecord strict = record_for(2, Mode::kStrict);
  gate_tier(no_logprobs, strict);
  EXPECT_THAT(strict.capability_failures, Contains(HasSubstr("cannot give log-probabilities")));

  DeterminismRecord best = record_for(2, Mode::kBestEffort);
  gate_tier(no_logprobs, best);
  EXPECT_TRUE(best.capability_failures.empty());
  EXPECT_EQ(best.tier_effective, 1);
  ASSERT_EQ(best.downgrades.size(), 1u);
  EXPECT_EQ(best.downgrades[0].from, 2);
  EXPECT_EQ(best.downgrades[0].to, 1);

  DeterminismRecord tier1 = record_for(1, Mode::kStrict);
  gate_tier(no_logprobs, tier1);  // tier 1 needs no logprobs
  EXPECT_TRUE(tier1.capability_failures.empty());
  EXPECT_EQ(tier1.tier_effective, 1);

  ModelInfo uncontrolled;
  uncontrolled.capabilities.honours_controls = false;
  DeterminismRecord downgraded = record_for(1, Mode::kBestEffort);
  gate_tier(uncontrolled, downgraded);
  EXPECT_EQ(downgraded.tier_effective, 0);

  DeterminismRecord bad = record_for(3, Mode::kStrict);
  EXPECT_THROW(gate_tier(uncontrolled, bad), Error);
  EXPECT_THROW(mode_from_string("sometimes"), Error);
}

TEST(Env, SnapshotHasEveryRequiredFieldAndAStableFingerprint) {
  const json a = capture_env();
  for (const char* key : {"schema_version", "detllm_version", "artifact_type", "python", "platform",
                          "torch", "transformers", "device", "env_vars", "fingerprint", "libtorch",
                          "cuda", "cublas", "compiler", "cpu"}) {
    EXPECT_TRUE(a.contains(key)) << key;
  }
  EXPECT_TRUE(a["python"]["version"].is_null());
  EXPECT_TRUE(a["cuda"].contains("available"));  // says "no GPU" rather than failing
  EXPECT_TRUE(a["cublas"].contains("version"));
  EXPECT_EQ(a["fingerprint"], capture_env()["fingerprint"]);
  EXPECT_EQ(a["fingerprint"], env_fingerprint(a));
}

TEST(Env, FingerprintAndDifferencesFollowRelevantVariables) {
  const json before = capture_env();
  setenv("OMP_NUM_THREADS", "3", 1);
  const json after = capture_env();
  unsetenv("OMP_NUM_THREADS");
  EXPECT_NE(before["fingerprint"], after["fingerprint"]);
  EXPECT_THAT(env_differences(before, after), Contains("env_vars.OMP_NUM_THREADS"));
  setenv("SOME_UNRELATED_VARIABLE", "x", 1);
  EXPECT_EQ(capture_env()["fingerprint"], before["fingerprint"]);
  unsetenv("SOME_UNRELATED_VARIABLE");
}

TEST(Env, NeverContainsASecretsValue) {
  setenv("HF_TOKEN", "hf_s3cr3t_value", 1);
  setenv("CUDA_API_KEY_FILE", "also-secret", 1);
  setenv("CUDA_VISIBLE_DEVICES", "0", 1);
  const std::string dumped = capture_env().dump();
  EXPECT_THAT(dumped, ::testing::Not(HasSubstr("hf_s3cr3t_value")));
  EXPECT_THAT(dumped, ::testing::Not(HasSubstr("also-secret")));
  EXPECT_THAT(dumped, HasSubstr("\"HF_TOKEN\":\"<redacted>\""));
  EnvOptions named;
  named.redact_vars = {"cuda_visible_devices"};
  EXPECT_EQ(capture_env(named)["env_vars"]["CUDA_VISIBLE_DEVICES"], "<redacted>");
  EnvOptions off;
  off.redact = false;
  EXPECT_EQ(capture_env(off)["env_vars"]["HF_TOKEN"], "hf_s3cr3t_value");
  unsetenv("HF_TOKEN");
  unsetenv("CUDA_API_KEY_FILE");
  unsetenv("CUDA_VISIBLE_DEVICES");
}

}  // namespace
}  // namespace detllm
