// AOTInductor packages and TorchScript traced from transformers, as the pinned
// torch exports them (make_packages.py): the assertions pass on correct models,
// fail on the real bugs, the engine agrees on the same weights, and bad
// packages are refused in one line. Skips, saying why, on a libtorch without
// AOTIModelPackageLoader (Debian's 1.13) or without the pinned environment.
#include <ATen/Context.h>
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <torch/version.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "detllm_test/detllm_test.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/models.h"
#include "detllm_test/replay.h"
#include "test_models.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

const std::vector<Prompt> kPrompts = {"The capital of France is", "Choose one: A or B.",
                                      "def f(n):", "Ein Wort"};

std::string fixture(const std::string& name) { return std::string(DETLLM_AOTI_DIR) + "/" + name; }

// Each package loaded once for the whole suite (and reachable from inside
// EXPECT_NONFATAL_FAILURE, which takes no local variables).
Generator& package(const std::string& name) {
  static auto* loaded = new std::map<std::string, std::unique_ptr<Generator>>;
  std::unique_ptr<Generator>& model = (*loaded)[name];
  if (!model) model = load_model(fixture(name));
  return *model;
}

std::optional<std::string> why_unavailable() {
  if (!aoti_available()) {
    return "libtorch " TORCH_VERSION " has no AOTIModelPackageLoader (the 2.x build runs these)";
  }
  std::ifstream why(fixture("unavailable.txt"));
  if (why) return std::string(std::istreambuf_iterator<char>(why), {});
  return std::nullopt;
}

class AotiTest : public DeterminismTest {
 protected:
  void SetUp() override {
    if (const auto why = why_unavailable()) GTEST_SKIP() << *why;
    ASSERT_TRUE(std::filesystem::exists(fixture("versions.json")))
        << "no AOTInductor fixtures in " DETLLM_AOTI_DIR " (ctest runs aoti.fixtures first)";
    DeterminismTest::SetUp();
  }
  CheckOptions options() const {
    CheckOptions o;
    o.decoding.max_new_tokens = 12;
    o.out_dir = packs_.path();
    return o;
  }
  testing::TempDir packs_;
};

TEST_F(AotiTest, TransformersLlamaIsRepeatableAndBatchInvariant) {
  Generator& model = package("llama.pt2");
  EXPECT_EQ(model.info().backend, "aoti");
  EXPECT_REPEATABLE(model, kPrompts, Runs(3), Tier(2));
  EXPECT_BATCH_INVARIANT(model, kPrompts, BatchSizes({1, 2, 4}));
  EXPECT_BATCH_INVARIANT(model, kPrompts, Needle(3, 4));
  EXPECT_PREFILL_MATCHES_DECODE(model, kPrompts);
}

TEST_F(AotiTest, TransformersQwen2AndGpt2AreRepeatableAndBatchInvariant) {
  for (const char* name : {"qwen2.pt2", "gpt2.pt2"}) {
    auto model = load_aoti_model(fixture(name));
    EXPECT_REPEATABLE(model, kPrompts, Runs(2)) << name;
    EXPECT_BATCH_INVARIANT(model, kPrompts, BatchSizes({1, 4})) << name;
  }
}

// The padding bug, exported as a package: BATCH_VARIANCE, and the report says
// why no op is named rather than naming one of the compiled kernels' wrong.
TEST_F(AotiTest, ThePaddingBugTwinFailsWithBatchVariance) {
  Generator& model = package("llama_padding_bug.pt2");
  EXPECT_NONFATAL_FAILURE(
      EXPECT_BATCH_INVARIANT(package("llama_padding_bug.pt2"), kPrompts, Needle(2, 4)),
      "BATCH_VARIANCE");
  CheckOptions o = options();
  o.runs = 1;
  o.vary_batch = {4};
  const CheckResult result = check(model, kPrompts, o);
  EXPECT_EQ(result.report.category, Category::kBatchVariance);
  EXPECT_FALSE(result.report.first_divergent_op.has_value());
  EXPECT_THAT(render_text(result.report),
              HasSubstr("not named: an AOTInductor package runs compiled kernels"));
  // The pack replays: the same package (this test's own, so trusted), the same divergence.
  ReplayOptions again;
  again.out_dir = packs_.path() + "/replays";
  again.trust_pack_model = true;
  EXPECT_EQ(replay(result.pack_dir, again).outcome, ReplayOutcome::kReproduced);
}

// A buffer forward mutates (state carried from call to call): run variance.
TEST_F(AotiTest, ABufferForwardMutatesFailsWithRunVariance) {
  EXPECT_NONFATAL_FAILURE(EXPECT_REPEATABLE(package("llama_mutates.pt2"), kPrompts, Runs(2)),
                          "RUN_VARIANCE_FIXED_BATCH");
}

TEST_F(AotiTest, MatchesItsGoldenAndTheBuggyTwinDoesNot) {
  GoldenOptions g;
  g.path = packs_.path() + "/llama.golden.jsonl";
  g.base = options();
  g.update = true;
  g.force = true;  // recorded here, by the test itself, even where CI is set
  ASSERT_TRUE(check_golden(package("llama.pt2"), kPrompts, g).recorded);
  g.update = false;
  EXPECT_TRUE(check_golden(package("llama.pt2"), kPrompts, g).passed());
  // Batched, so that the missing mask shows: the golden's batch size is 1.
  g.overrides = [](CheckOptions& o) { o.batch_size = 4; };
  const GoldenResult differs = check_golden(package("llama_padding_bug.pt2"), kPrompts, g);
  EXPECT_EQ(differs.report.category, Category::kGoldenMismatch) << differs.report.headline();
}

// The package and the engine, on the same weights (the checkpoint the exporter
// saved beside it): the same logits to float32 noise, the same argmax.
class AotiAgainstTheEngine : public AotiTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(AotiAgainstTheEngine, ScoresEverySequenceAsTheEngineDoes) {
  const std::string name = GetParam();
  testing::TempDir dir;
  std::filesystem::copy(fixture(name), dir.path());
  if (name == "gpt2") {
    testing::write_bpe_files(dir.path(), {});
  } else {
    std::ofstream(dir.path() + "/tokenizer.json") << testing::tiny_llama_tokenizer_json().dump();
  }
  auto engine = load_hf_model(dir.path());
  Generator& aoti = package(name + ".pt2");
  for (const Prompt& prompt : kPrompts) {
    const TokenIds ids = byte_tokenizer()->encode(prompt.text);
    const SequenceScores want = *engine->score(ids, 1);
    const SequenceScores got = *aoti.score(ids, 1);
    EXPECT_EQ(got.argmax, want.argmax) << prompt.text;
    ASSERT_EQ(got.logprobs.size(), want.logprobs.size());
    for (size_t i = 0; i < want.logprobs.size(); ++i) {
      EXPECT_NEAR(got.logprobs[i], want.logprobs[i], 1e-4) << prompt.text << " position " << i;
    }
  }
}
INSTANTIATE_TEST_SUITE_P(Families, AotiAgainstTheEngine,
                         ::testing::Values("gpt2", "llama", "qwen2"));

// TorchScript keeps working on 2.x: transformers' Llama traced at batch 2 and 8
// tokens serves other shapes, and scores as the package with the same weights.
TEST_F(AotiTest, TorchScriptTracedFromTransformersIsRepeatableAndBatchInvariant) {
  auto traced = load_model(fixture("traced_llama.pt"));
  EXPECT_EQ(traced->info().backend, "torchscript");
  EXPECT_REPEATABLE(traced, kPrompts, Runs(2));
  EXPECT_BATCH_INVARIANT(traced, kPrompts, BatchSizes({1, 3}));
  for (const Prompt& prompt : kPrompts) {
    const TokenIds ids = byte_tokenizer()->encode(prompt.text);
    const SequenceScores a = *traced->score(ids, 1), b = *package("llama.pt2").score(ids, 1);
    EXPECT_EQ(a.argmax, b.argmax) << prompt.text;
    for (size_t i = 0; i < a.logprobs.size(); ++i) {
      EXPECT_NEAR(a.logprobs[i], b.logprobs[i], 1e-4) << prompt.text;
    }
  }
}

// --- bad packages: one line each ---------------------------------------------
// other_torch.pt2 and cuda_metadata.pt2 are llama.pt2 with the metadata another
// torch version's or a CUDA export writes: this machine makes neither for real.

TEST_F(AotiTest, AStaticShapePackageAskedForAnotherShapeSaysSo) {
  auto model = load_model(fixture("static_shape.pt2"));  // exported for [2, 8] only
  EXPECT_ERROR_MENTIONS(model->generate(std::vector<TokenIds>{{1, 2, 3}}, GenerationConfig{}),
                        "exported with static shapes runs only the shapes it was exported with");
}

TEST_F(AotiTest, APackageWhoseInputsAreNotIdsAndMaskIsRefused) {
  EXPECT_ERROR_MENTIONS(
      load_model(fixture("ids_only.pt2")),
      "its model takes 1 input tensors; expected forward(input_ids, attention_mask)");
}

TEST_F(AotiTest, CorruptAndMissingPackagesAreRefused) {
  testing::TempDir dir;
  const std::string truncated = dir.path() + "/truncated.pt2";
  {
    std::ifstream in(fixture("llama.pt2"), std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  EXPECT_ERROR_MENTIONS(load_model(truncated), "cannot load AOTInductor package");
  EXPECT_ERROR_MENTIONS(load_model(dir.path() + "/none.pt2"), "file does not exist");
}

TEST_F(AotiTest, APackageForAnotherDeviceOrDtypeIsRefused) {
  ModelOptions bf16;
  bf16.dtype = "bfloat16";
  auto model = load_aoti_model(fixture("llama.pt2"), bf16);
  EXPECT_ERROR_MENTIONS(model->generate(std::vector<TokenIds>{{1, 2, 3}}, GenerationConfig{}),
                        "computes in Float; ModelOptions::dtype says bfloat16");
}

TEST_F(AotiTest, APackageMadeByAnotherTorchVersionIsRefused) {
  EXPECT_ERROR_MENTIONS(load_model(fixture("other_torch.pt2")),
                        "was compiled by torch 2.11.0+cu130; this libtorch is " TORCH_VERSION);
}

TEST_F(AotiTest, ACudaPackageWithoutCudaIsRefused) {
  if (at::hasCUDA()) GTEST_SKIP() << "this machine has CUDA";
  EXPECT_ERROR_MENTIONS(load_model(fixture("cuda_metadata.pt2")),
                        "was compiled for CUDA, and this machine or libtorch has no CUDA device");
}

// A pack is untrusted, and a .pt2 runs its shared object's code when loaded:
// a pack naming llama.pt2 with its model replaced by a library whose
// constructor writes a file. Replay refuses it before anything is opened;
// trusted (the negative control), loading runs that code.
TEST_F(AotiTest, ReplayRunsNoCodeFromAPacksPackage) {
  testing::TempDir dir;
  const std::string package = dir.path() + "/model.pt2", marker = dir.path() + "/ran";
  const std::string swap =
      "python3 -c 'import sys, zipfile\n"
      "with zipfile.ZipFile(sys.argv[1]) as zin, zipfile.ZipFile(sys.argv[2], \"w\") as zout:\n"
      "    for item in zin.infolist():\n"
      "        data = open(sys.argv[3], \"rb\").read() if item.filename.endswith(\".so\") "
      "else zin.read(item.filename)\n"
      "        zout.writestr(item, data)' " +
      fixture("llama.pt2") + " " + package + " " DETLLM_CONSTRUCTOR_LIBRARY;
  ASSERT_EQ(std::system(swap.c_str()), 0) << swap;

  CheckOptions o = options();
  o.keep_passing_pack = true;
  const CheckResult passed = check(*make_builtin_model(BuiltinConfig::tiny()), kPrompts, o);
  const std::string config_path = passed.pack_dir + "/run_config.json";
  nlohmann::json config = nlohmann::json::parse(std::ifstream(config_path));
  config["model"] = package;
  config["backend"] = "aoti";
  std::ofstream(config_path) << config.dump();

  setenv("DETLLM_TEST_CONSTRUCTOR_MARKER", marker.c_str(), 1);
  ReplayOptions untrusted;
  untrusted.out_dir = dir.path() + "/replays";
  EXPECT_ERROR_MENTIONS(replay(passed.pack_dir, untrusted), "--trust-pack-model");
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the pack's package ran code";

  ReplayOptions trusted = untrusted;
  trusted.trust_pack_model = true;
  try {
    replay(passed.pack_dir, trusted);  // its model is gone: the load fails after the code ran
  } catch (const Error&) {
  }
  unsetenv("DETLLM_TEST_CONSTRUCTOR_MARKER");
  EXPECT_TRUE(std::filesystem::exists(marker)) << "the control: loading it did not run its code";
}

}  // namespace
}  // namespace detllm
