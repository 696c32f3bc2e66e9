// The determinism scope, capability gating and environment capture.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "detllm_test/determinism.h"
#include "detllm_test/env.h"
#include "detllm_test/error.h"

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
    EXPECT_EQ(inside["tf32_cublas"], "off");
    EXPECT_EQ(inside["tf32_cudnn"], "off");
    EXPECT_EQ(inside["float32_matmul_precision"], "highest");
    EXPECT_EQ(inside["fp16_reduced_precision_reduction"], "off");
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

TEST(DeterminismScope, ReadsBackTf32EnvironmentOverrides) {
  setenv("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "1", 1);
  {
    DeterminismScope scope(DeterminismOptions{}, "cuda");
    const AppliedControl* tf32 = scope.record().find("tf32_cublas");
    EXPECT_EQ(tf32->effective, "on");
    EXPECT_FALSE(tf32->honoured);
    ModelInfo info;
    info.device = "cuda";
    DeterminismRecord record = scope.record();
    gate_tier(info, record);
    EXPECT_EQ(record.tier_effective, 0);  // best-effort: downgraded, recorded
    EXPECT_FALSE(record.downgrades.empty());
  }
  unsetenv("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE");
}

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
