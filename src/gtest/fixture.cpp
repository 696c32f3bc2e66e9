// The DeterminismTest fixture (controls on in SetUp, restored in TearDown),
// where each test's packs go, CTest's GPU assignment and the global
// environment that prints what the suite runs on.
#include "detllm_test/fixture.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "check/pack_defaults.h"
#include "detllm_test/env.h"
#include "detllm_test/internal/assertion_impl.h"
#include "detllm_test/version.h"

namespace detllm {

std::string artifacts_root() {
  const char* root = std::getenv("DETLLM_ARTIFACTS_DIR");
  return root != nullptr && *root != '\0' ? root : "artifacts";
}

std::string test_artifact_dir() {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = test ? std::string(test->test_suite_name()) + "." + test->name() : "no_test";
  for (char& c : name) {
    const bool safe =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!safe) c = '_';
  }
  return artifacts_root() + "/" + name;
}

bool keep_artifacts() {
  const char* keep = std::getenv("DETLLM_KEEP_ARTIFACTS");
  return keep != nullptr && std::string(keep) == "1";
}

namespace {
// The running DeterminismTest's options: the assertions' defaults.
std::optional<DeterminismOptions> fixture_determinism;
}  // namespace

namespace internal {
const DeterminismOptions* active_fixture_determinism() {
  return fixture_determinism ? &*fixture_determinism : nullptr;
}
}  // namespace internal

void DeterminismTest::SetUp() {
  fixture_determinism = determinism_options();
  scope_ = std::make_unique<DeterminismScope>(*fixture_determinism, device());
}

void DeterminismTest::TearDown() {
  scope_.reset();
  fixture_determinism.reset();
}

const DeterminismRecord& DeterminismTest::determinism() const {
  static const DeterminismRecord kNone;
  return scope_ ? scope_->record() : kNone;
}

::testing::internal::ParamGenerator<ModelOptions> AllDevicesAndDtypes() {
  std::vector<ModelOptions> all;
  for (const char* device : {"cpu", "cuda"}) {
    for (const char* dtype : {"float32", "bfloat16", "float16"}) all.push_back({device, dtype});
  }
  return ::testing::ValuesIn(all);
}

void PrintTo(const ModelOptions& options, std::ostream* os) {
  *os << options.device << "/" << options.dtype;
}

std::string DeviceAndDtypeName::operator()(
    const ::testing::TestParamInfo<ModelOptions>& info) const {
  std::string name = info.param.device + "_" + info.param.dtype;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

void use_ctest_gpu_assignment() {
  // CTest writes e.g. CTEST_RESOURCE_GROUP_0_GPUS=id:1,slots:1.
  const char* count = std::getenv("CTEST_RESOURCE_GROUP_COUNT");
  const char* gpus = std::getenv("CTEST_RESOURCE_GROUP_0_GPUS");
  if (count == nullptr || gpus == nullptr) return;
  const std::string spec = gpus;
  const size_t id = spec.find("id:");
  if (id == std::string::npos) return;
  const std::string device = spec.substr(id + 3, spec.find(',', id) - id - 3);
  setenv("CUDA_VISIBLE_DEVICES", device.c_str(), /*overwrite=*/1);
}

std::string environment_summary() {
  const nlohmann::json env = capture_env();
  std::string line = std::string("detllm_test ") + kVersion + ": libtorch " +
                     env["libtorch"]["version"].get<std::string>() + ", " +
                     std::to_string(env["cuda"]["device_count"].get<int64_t>()) +
                     " CUDA device(s), cpu " + env["cpu"]["model"].get<std::string>() +
                     ", CUBLAS_WORKSPACE_CONFIG=";
  const char* workspace = std::getenv("CUBLAS_WORKSPACE_CONFIG");
  line += workspace ? workspace : "(unset)";
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  if (visible != nullptr) line += std::string(", CUDA_VISIBLE_DEVICES=") + visible;
  line += ", artifacts: " + artifacts_root() + "/" +
          (keep_artifacts() ? " (all kept)" : " (kept on failure)");
  return line;
}

namespace {

// Removes a test's failures.txt as the test starts: the file CTest attaches
// on failure then holds this run's failures only, never an earlier run's.
class StaleFailuresRemover : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo&) override {
    std::error_code ignored;
    std::filesystem::remove(test_artifact_dir() + "/failures.txt", ignored);
  }
};

}  // namespace

void DeterminismEnvironment::SetUp() {
  static bool listening = false;  // once, however many times the environment is set up
  if (!listening) {
    ::testing::UnitTest::GetInstance()->listeners().Append(new StaleFailuresRemover);
    // A check() or run() with the default out_dir, called in a test, writes
    // where the assertions do: the test's directory, kept on failure only.
    internal::set_pack_defaults([]() -> std::optional<internal::PackDefaults> {
      if (::testing::UnitTest::GetInstance()->current_test_info() == nullptr) return std::nullopt;
      return internal::PackDefaults{test_artifact_dir(), keep_artifacts()};
    });
    listening = true;
  }
  use_ctest_gpu_assignment();
  prepare_process_environment();
  std::cout << "[ detllm   ] " << environment_summary() << std::endl;
}

}  // namespace detllm
