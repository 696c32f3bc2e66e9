// Secrets never reach an artifact: variables named like one, values shaped
// like one (whatever the variable is called) and URL credentials are redacted
// in env.json, envs/, run_config.json, the reports (text, JSON, HTML) and golden
// files, also where a changed variable is named as an environment difference.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "artifacts/file_util.h"
#include "detllm_test/check.h"
#include "detllm_test/env.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/models.h"
#include "test_models.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Variable, value, and the part of the value that must never be written.
struct Secret {
  const char* name;
  const char* value;
  const char* hidden;
};
const Secret kSecrets[] = {
    {"HF_ENDPOINT", "https://alice:pa55word@hub.example.com/api", "pa55word"},
    {"TORCH_PWD", "hunter2hunter2", "hunter2"},
    {"PYTORCH_PASSWD", "correct-horse", "correct-horse"},
    {"HF_AUTH", "plain-auth-value", "plain-auth-value"},
    {"CUDA_AUTH_BEARER", "bearer-value-42", "bearer-value-42"},
    {"HF_HOME_MIRROR", "hf_AbCdEfGhIjKlMnOpQrStUvWx", "hf_AbCdEfGhIjKlMnOpQrStUvWx"},
    {"TORCH_HOME_X", "ghp_0123456789abcdefghijABCDEFGHIJ", "ghp_0123456789abcdefghij"},
    {"OMP_X", "github_pat_11ABCDEFG0123456789_abcdefghijkl", "github_pat_11ABCDEFG"},
    {"MKL_X", "sk-proj-abcdefghijklmnopqrstuvwx1234", "sk-proj-abcdefghij"},
    {"CUDA_X", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"},
    {"TRANSFORMERS_X",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "dozjgNryP4J3jVmNHl0w5N"},
    {"NCCL_X", "q8Zr3Kp0Vx7Lm2Nw9Bt4Yh6Gf1Dc5Sa8Ej0Ui3Ok7Pz", "q8Zr3Kp0Vx7Lm2Nw9Bt4Yh6"},
};

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const Secret& s : kSecrets) setenv(s.name, s.value, 1);
  }
  void TearDown() override {
    for (const Secret& s : kSecrets) unsetenv(s.name);
  }
  // Every file under `root`, each checked for every secret.
  static void expect_no_secret_under(const std::string& root) {
    int files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      for (const Secret& s : kSecrets) {
        EXPECT_THAT(text, Not(HasSubstr(s.hidden))) << entry.path() << " holds " << s.name;
      }
      EXPECT_THAT(text, Not(HasSubstr("s3cond-pa55"))) << entry.path();  // set by the model
      ++files;
    }
    EXPECT_GT(files, 5);
  }
  testing::TempDir dir_;
};

TEST_F(SecretsTest, TheSnapshotRedactsByNameValueAndUrlCredentials) {
  const nlohmann::json vars = capture_env()["env_vars"];
  for (const Secret& s : kSecrets) {
    ASSERT_TRUE(vars.contains(s.name)) << s.name;
    EXPECT_THAT(vars[s.name].get<std::string>(), Not(HasSubstr(s.hidden))) << s.name;
  }
  EXPECT_EQ(vars["HF_ENDPOINT"], "https://<redacted>@hub.example.com/api");
  EXPECT_EQ(vars["TORCH_PWD"], "<redacted>");
  // What is no secret stays readable.
  setenv("CUDA_HOME_DIR", "/usr/local/cuda-13.0/targets/x86_64-linux/lib", 1);
  setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 1);
  const nlohmann::json plain = capture_env()["env_vars"];
  EXPECT_EQ(plain["CUDA_HOME_DIR"], "/usr/local/cuda-13.0/targets/x86_64-linux/lib");
  EXPECT_EQ(plain["CUBLAS_WORKSPACE_CONFIG"], ":4096:8");
  unsetenv("CUDA_HOME_DIR");
  EnvOptions off;
  off.redact = false;
  EXPECT_EQ(capture_env(off)["env_vars"]["HF_AUTH"], "plain-auth-value");
}

TEST_F(SecretsTest, NoArtifactOfAFailingCheckOrAGoldenHoldsOne) {
  // A model that changes a secret-bearing variable between runs: the report
  // names it as an environment difference, with both (redacted) values.
  auto builtin = make_builtin_model(BuiltinConfig::tiny());
  int calls = 0;
  auto model = make_callable_model(
      [&](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        const std::string endpoint =
            "https://bob:s3cond-pa55@hub" + std::to_string(++calls) + ".example.com";
        setenv("HF_ENDPOINT", endpoint.c_str(), 1);
        return builtin->generate(batch, config);
      },
      ModelInfo{});
  CheckOptions o;
  o.runs = 2;
  o.decoding.max_new_tokens = 4;
  o.out_dir = dir_.path() + "/packs";
  const CheckResult result = check(*model, {"Hello"}, o);
  ASSERT_EQ(result.report.category, Category::kEnvMismatch) << result.report.headline();
  EXPECT_THAT(internal::read_file(result.pack_dir + "/report.txt", "report"),
              HasSubstr("env_vars.HF_ENDPOINT"));

  // A failing check of a libtorch model (report.html, run_config, envs/).
  auto padding_bug = load_torchscript_model(
      testing::write_torchscript_model(dir_.path(), testing::Defect::kIgnoresPadding));
  CheckOptions batch = o;
  batch.runs = 1;
  batch.vary_batch = {1, 4};
  ASSERT_FALSE(check(*padding_bug, {"Hello", "A longer prompt, padded."}, batch).passed());

  GoldenOptions golden;
  golden.path = dir_.path() + "/golden/tiny.jsonl";
  golden.base = o;
  golden.update = golden.force = true;
  check_golden(*builtin, {"Hello"}, golden);

  for (const Secret& s : kSecrets) setenv(s.name, s.value, 1);
  expect_no_secret_under(dir_.path());
  EXPECT_THAT(internal::read_file(golden.path, "golden"), HasSubstr("<redacted>"));
  EXPECT_THAT(internal::read_file(golden.path, "golden"), Not(HasSubstr("s3cond-pa55")));
}

}  // namespace
}  // namespace detllm
