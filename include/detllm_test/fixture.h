// detllm::gtest — the DeterminismTest fixture, the global environment, per-test artifact
// directories, and skipping what the machine cannot do.
#ifndef DETLLM_TEST_FIXTURE_H_
#define DETLLM_TEST_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "detllm_test/determinism.h"
#include "detllm_test/models.h"

namespace detllm {

// The root of the repro packs: $DETLLM_ARTIFACTS_DIR, or "artifacts".
std::string artifacts_root();

// The running test's own directory under the root, named after Suite.Test with
// only [A-Za-z0-9._-] kept (others become '_'), e.g.
// "artifacts/Devices_MyTest.Greedy_0". Outside a test: "<root>/no_test".
std::string test_artifact_dir();

// True if DETLLM_KEEP_ARTIFACTS=1: packs of passing assertions are kept too.
bool keep_artifacts();

// A fixture that applies the determinism controls in SetUp and restores them
// in TearDown, so that everything in the test body — building the model too —
// runs under them. Override determinism_options() or device() to change them:
//
//   class MyModelTest : public detllm::DeterminismTest {
//    protected:
//     std::unique_ptr<detllm::Generator> model_ = detllm::load_model("builtin:tiny");
//   };
//   TEST_F(MyModelTest, Repeatable) { EXPECT_REPEATABLE(model_, prompts); }
class DeterminismTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  virtual DeterminismOptions determinism_options() const { return {}; }
  virtual std::string device() const { return "cpu"; }

  // What SetUp applied (determinism_applied.json's content).
  const DeterminismRecord& determinism() const;
  // This test's artifact directory (test_artifact_dir()).
  std::string artifact_dir() const { return test_artifact_dir(); }

 private:
  std::unique_ptr<DeterminismScope> scope_;
};

// The fixture for value-parameterized tests, e.g. over devices and dtypes:
//
//   class AcrossDevices : public detllm::DeterminismTestWithParam<detllm::ModelOptions> {};
//   TEST_P(AcrossDevices, Repeatable) {
//     DETLLM_SKIP_IF_UNSUPPORTED(GetParam(), detllm::Mode::kBestEffort);
//     auto model = detllm::make_builtin_model(detllm::BuiltinConfig::tiny(), GetParam());
//     EXPECT_REPEATABLE(model, prompts);
//   }
//   INSTANTIATE_TEST_SUITE_P(All, AcrossDevices, detllm::AllDevicesAndDtypes(),
//                            detllm::DeviceAndDtypeName());
template <typename T>
class DeterminismTestWithParam : public DeterminismTest, public ::testing::WithParamInterface<T> {};

// cpu and cuda, each in float32, bfloat16 and float16.
::testing::internal::ParamGenerator<ModelOptions> AllDevicesAndDtypes();

// Prints "cuda/bfloat16" in GoogleTest messages.
void PrintTo(const ModelOptions& options, std::ostream* os);

// Names parameters "cpu_float32", "cuda_bfloat16", ...
struct DeviceAndDtypeName {
  std::string operator()(const ::testing::TestParamInfo<ModelOptions>& info) const;
};

// Prints the environment in one line and sets CUBLAS_WORKSPACE_CONFIG (and, under
// a CTest resource spec, CUDA_VISIBLE_DEVICES to the GPU CTest assigned) before
// anything touches CUDA. detllm::detllm_test_main registers it; with your own main:
//   ::testing::AddGlobalTestEnvironment(new detllm::DeterminismEnvironment);
class DeterminismEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
};

// The one-line summary DeterminismEnvironment prints.
std::string environment_summary();

// Under `ctest --resource-spec-file`, sets CUDA_VISIBLE_DEVICES to the GPU CTest
// assigned this test (CTEST_RESOURCE_GROUP_0_GPUS), so that tests running in
// parallel never share a GPU. Call before anything touches CUDA; test_main does.
void use_ctest_gpu_assignment();

}  // namespace detllm

// In a test body: skips the test with the reason if `model_options` cannot run
// here, or, with `mode` detllm::Mode::kStrict, fails it as UNSUPPORTED_REQUEST.
#define DETLLM_SKIP_IF_UNSUPPORTED(model_options, mode)                              \
  if (const std::string detllm_reason = ::detllm::unsupported_reason(model_options); \
      detllm_reason.empty()) {                                                       \
  } else if ((mode) == ::detllm::Mode::kStrict) {                                    \
    GTEST_FAIL() << "UNSUPPORTED_REQUEST: " << detllm_reason;                        \
  } else                                                                             \
    GTEST_SKIP() << detllm_reason

#endif  // DETLLM_TEST_FIXTURE_H_
