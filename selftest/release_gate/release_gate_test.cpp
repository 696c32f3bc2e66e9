// Release gates across two real CPU stacks: goldens recorded by the Debian leg
// (libtorch 1.13, netlib BLAS) and committed (goldens/), gated here by
// whichever leg runs — bit for bit only on the stack that recorded them,
// within `auto` on both — and the regressions a tolerant gate must still
// catch, each made for real. Record them again on the Debian leg with
//   DETLLM_UPDATE_GOLDEN=1 build/selftest/detllm_release_gate_tests
#include <torch/version.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>

#include "artifacts/golden_drift.h"
#include "artifacts/json_io.h"
#include "checkpoint/tensor_file.h"
#include "detllm_test/detllm_test.h"
#include "test_files.h"

namespace detllm {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// The goldens were recorded on libtorch 1.x (the Debian leg).
constexpr bool kRecordingStack = TORCH_VERSION_MAJOR == 1;

const std::vector<std::string> kPrompts = {"The capital of France is", "Choose one: A or B.",
                                           "Once upon a time there was"};

std::optional<std::string> no_reference_models() {
  std::ifstream why(std::string(DETLLM_REFERENCE_DIR) + "/unavailable.txt");
  if (why) return std::string(std::istreambuf_iterator<char>(why), {});
  if (!std::filesystem::exists(DETLLM_REFERENCE_DIR "/models/qwen3/config.json")) {
    return std::string("no reference models in " DETLLM_REFERENCE_DIR " (ctest -L reference)");
  }
  return std::nullopt;
}

struct Gated {
  const char* name;   // the golden's file name
  const char* model;  // a load_model() spec; "ref:NAME": the reference fixture's checkpoint
  int new_tokens;
};

// The transformers-written checkpoints' goldens: gated across stacks, and the
// checkpoints the regressions are made from.
const Gated kQwen3{"qwen3.jsonl", "ref:qwen3", 16};
const Gated kMixtral{"mixtral.jsonl", "ref:mixtral", 16};

// gtest prints a parameter in the test's listing: its name.
void PrintTo(const Gated& g, std::ostream* out) { *out << g.name; }

std::string spec_of(const Gated& g) {
  const std::string model = g.model;
  return model.rfind("ref:", 0) == 0
             ? std::string(DETLLM_REFERENCE_DIR) + "/models/" + model.substr(4)
             : model;
}

std::string golden_of(const Gated& g) { return std::string(DETLLM_GOLDEN_DIR) + "/" + g.name; }

GoldenOptions gate(const Gated& g, Tolerance tolerance) {
  GoldenOptions o;
  o.path = golden_of(g);
  o.base.decoding.max_new_tokens = g.new_tokens;
  o.base.determinism.tier = 2;
  o.base.out_dir.clear();
  o.tolerance = tolerance;
  return o;
}

class CrossStack : public ::testing::TestWithParam<Gated> {
 protected:
  void SetUp() override {
    if (std::string(GetParam().model).rfind("ref:", 0) == 0) {
      if (const auto why = no_reference_models()) GTEST_SKIP() << *why;
    }
  }
};

// Exact holds on the stack that recorded the golden and fails for a real
// reason on the other (its logprobs moved; the environment names libtorch
// and the BLAS); auto passes on both, saying how far it drifted.
TEST_P(CrossStack, ExactHoldsOnlyWhereRecordedAndAutoPassesOnBoth) {
  const Gated& g = GetParam();
  auto model = load_model(spec_of(g));
  if (golden_update_requested()) {
    GoldenOptions record = gate(g, Tolerance::Exact());
    ASSERT_TRUE(kRecordingStack) << "the goldens are recorded on the Debian leg (libtorch 1.x)";
    check_golden(*model, {kPrompts.begin(), kPrompts.end()}, record);
    GTEST_SKIP() << "recorded " << record.path;
  }
  const std::vector<Prompt> prompts(kPrompts.begin(), kPrompts.end());
  const GoldenResult exact = check_golden(*model, prompts, gate(g, Tolerance::Exact()));
  if (kRecordingStack) {
    EXPECT_TRUE(exact.passed()) << render_text(exact.report);
  } else {
    ASSERT_FALSE(exact.passed()) << "the 2.x stack computed the Debian leg's golden bit for bit";
    EXPECT_EQ(exact.report.category, Category::kGoldenMismatch) << render_text(exact.report);
    EXPECT_THAT(exact.report.likely_causes, ::testing::Contains(HasSubstr("libtorch version")));
  }
  const GoldenResult tolerant = check_golden(*model, prompts, gate(g, Tolerance::Auto()));
  EXPECT_TRUE(tolerant.passed()) << render_text(tolerant.report);
  ASSERT_TRUE(tolerant.report.golden_drift);
  const GoldenDrift& drift = *tolerant.report.golden_drift;
  EXPECT_EQ(drift.exact, kRecordingStack) << render_text(tolerant.report);
  EXPECT_EQ(drift.positions, 3 * g.new_tokens);
  ::testing::Test::RecordProperty("largest_drift", drift.largest ? drift.largest->drift : 0.0);
  std::cout << "[ drift    ] " << g.name << ": " << internal::render_golden_drift(drift, "")
            << std::flush;
}

INSTANTIATE_TEST_SUITE_P(Goldens, CrossStack,
                         ::testing::Values(Gated{"builtin_small.jsonl", "builtin:small", 8},
                                           Gated{"builtin_qwen3_small.jsonl", "builtin:qwen3-small",
                                                 8},
                                           kQwen3, kMixtral),
                         [](const auto& info) {
                           std::string name = info.param.name;
                           return name.substr(0, name.find('.'));
                         });

// A regression of a reference checkpoint, made for real in a copy of it.
struct Regression {
  const char* name;
  std::function<void(const std::string& dir)> make;  // changes the copy in `dir`
  Gated golden = kQwen3;                             // the checkpoint and its golden
};

void PrintTo(const Regression& r, std::ostream* out) { *out << r.name; }

void edit_config(const std::string& dir, const std::function<void(json&)>& edit) {
  const std::string path = dir + "/config.json";
  json config = internal::read_json_file(path, "config");
  edit(config);
  std::ofstream(path) << config.dump(1);
}

class Regressions : public ::testing::TestWithParam<Regression> {
 protected:
  void SetUp() override {
    if (const auto why = no_reference_models()) GTEST_SKIP() << *why;
    if (golden_update_requested()) GTEST_SKIP() << "recording";
  }
};

// Each fails under auto on both stacks, as GOLDEN_MISMATCH naming the
// position, the golden's margin there and the drift — or, where the prompts
// no longer tokenize the same, as GEN_CONTEXT_MISMATCH.
TEST_P(Regressions, FailUnderAutoOnBothStacks) {
  testing::TempDir dir;
  const Gated& golden = GetParam().golden;
  const std::string copy = dir.path() + "/model";
  std::filesystem::copy(spec_of(golden), copy);
  GetParam().make(copy);
  auto model = load_model(copy);
  const GoldenResult result =
      check_golden(*model, {kPrompts.begin(), kPrompts.end()}, gate(golden, Tolerance::Auto()));
  ASSERT_FALSE(result.passed()) << render_text(result.report);
  ASSERT_TRUE(result.report.first_divergence) << render_text(result.report);
  const Divergence& d = *result.report.first_divergence;
  if (d.category == Category::kGenContextMismatch) {
    EXPECT_EQ(d.field, "input_token_ids") << render_text(result.report);
    return;
  }
  EXPECT_EQ(result.report.category, Category::kGoldenMismatch);
  ASSERT_TRUE(result.report.golden_drift && result.report.golden_drift->failure);
  EXPECT_THAT(d.detail, ::testing::AnyOf(HasSubstr("confident flip"), HasSubstr("drift beyond")));
  EXPECT_THAT(render_text(result.report), HasSubstr("golden's margin"));
  std::cout << "[ caught   ] " << GetParam().name << ": " << d.detail << std::endl;
}

INSTANTIATE_TEST_SUITE_P(
    Checkpoints, Regressions,
    ::testing::Values(Regression{"RmsNormEpsilon",
                                 [](const std::string& dir) {
                                   edit_config(
                                       dir, [](json& c) { c["rms_norm_eps"] = 1e-5; });  // was 1e-6
                                 }},
                      Regression{"RopeTheta",
                                 [](const std::string& dir) {
                                   edit_config(dir, [](json& c) {
                                     c["rope_theta"] = 11000.0;  // was 10000
                                     if (c.contains("rope_parameters"))
                                       c["rope_parameters"]["rope_theta"] = 11000.0;
                                   });
                                 }},
                      Regression{"WeightsRoundedToBfloat16",
                                 [](const std::string& dir) {
                                   const std::string path = dir + "/model.safetensors";
                                   std::vector<std::pair<std::string, at::Tensor>> rounded;
                                   std::map<std::string, std::string> metadata;
                                   {
                                     const internal::SafetensorsFile file(path);
                                     metadata = file.metadata();
                                     for (const auto& [name, entry] : file.entries()) {
                                       const at::Tensor t = file.read(name);
                                       rounded.emplace_back(
                                           name, t.to(at::kBFloat16).to(t.scalar_type()));
                                     }
                                   }
                                   internal::write_safetensors(path, rounded, metadata);
                                 }},
                      Regression{"TokenizerMergeRemoved",
                                 [](const std::string& dir) {
                                   const std::string path = dir + "/tokenizer.json";
                                   json t = internal::read_json_file(path, "tokenizer");
                                   json& merges = t["model"]["merges"];
                                   ASSERT_FALSE(merges.empty());
                                   merges.erase(merges.begin());  // the first, most frequent merge
                                   std::ofstream(path) << t.dump();
                                 }},
                      // The attention mask off by one position: Mixtral's
                      // sliding window one key wider (the off-by-one that
                      // implementations of Mistral's window once disagreed on).
                      Regression{"SlidingWindowOffByOne",
                                 [](const std::string& dir) {
                                   edit_config(dir, [](json& c) {
                                     ASSERT_EQ(c["sliding_window"], 6);
                                     c["sliding_window"] = 7;
                                   });
                                 },
                                 kMixtral}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace detllm
