// Localisation (CheckOptions::explain): a failing check names the first ATen op
// whose output differed, and where it ran, for real causes: the padding bug, a
// dropout left on, and a perturbation inserted into one layer of the built-in
// model; a callable model says it cannot be localised.
#include <ATen/ATen.h>
#include <ATen/record_function.h>
#include <png.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "artifacts/file_util.h"
#include "detllm_test/check.h"
#include "detllm_test/golden.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/models.h"
#include "models/model_hooks.h"
#include "test_models.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::vector<Prompt> kPrompts = {"Hello", "A longer prompt so that the others are padded."};

class ExplainTest : public ::testing::Test {
 protected:
  CheckOptions options() {
    CheckOptions o;
    o.runs = 2;
    o.decoding.max_new_tokens = 6;
    o.out_dir = dir_.path();
    return o;
  }
  std::unique_ptr<Generator> torchscript(testing::Defect defect) {
    return load_torchscript_model(testing::write_torchscript_model(models_.path(), defect));
  }
  // The padding bug at batch sizes 1 and 4: BATCH_VARIANCE.
  CheckResult padding_bug_check(CheckOptions o) {
    auto model = torchscript(testing::Defect::kIgnoresPadding);
    o.runs = 1;
    o.vary_batch = {1, 4};
    return check(*model, kPrompts, o);
  }
  testing::TempDir dir_, models_;
};

TEST_F(ExplainTest, ThePaddingBugIsFirstSeenInThePositionLookup) {
  CheckOptions o = options();
  const CheckResult result = padding_bug_check(o);
  ASSERT_EQ(result.report.category, Category::kBatchVariance);
  ASSERT_TRUE(result.report.first_divergent_op) << ::testing::PrintToString(result.report.notes);
  const OpDivergence& op = *result.report.first_divergent_op;
  // Positions counted from 0 over the padding: the position embedding's
  // lookup differs first, long before the LM head.
  EXPECT_EQ(op.op, "aten::index_select");
  EXPECT_GT(op.max_abs_diff, 0);
  EXPECT_THAT(render_text(result.report), HasSubstr("first differing op: aten::index_select #"));
  EXPECT_THAT(internal::read_file(result.pack_dir + "/report.json", "report"),
              HasSubstr("\"first_divergent_op\""));
}

TEST_F(ExplainTest, ADropoutLeftOnIsFirstSeenInTheDropout) {
  auto model = torchscript(testing::Defect::kDropoutLeftOn);
  const CheckResult result = check(*model, kPrompts, options());
  ASSERT_EQ(result.report.category, Category::kRunVarianceFixedBatch);
  ASSERT_TRUE(result.report.first_divergent_op) << ::testing::PrintToString(result.report.notes);
  EXPECT_THAT(result.report.first_divergent_op->op,
              ::testing::AnyOf(HasSubstr("dropout"), HasSubstr("bernoulli"), HasSubstr("rand"),
                               HasSubstr("uniform")));
}

// A buffer set on every call and never reset: run 1 reads the state run 0
// left. The first differing op is where the buffer is read, named with the
// TorchScript submodule it runs in.
TEST_F(ExplainTest, AStaleStateBufferIsFirstSeenWhereItIsRead) {
  auto model = torchscript(testing::Defect::kStaleState);
  const CheckResult result = check(*model, kPrompts, options());
  ASSERT_EQ(result.report.category, Category::kRunVarianceFixedBatch);
  ASSERT_TRUE(result.report.first_divergent_op) << ::testing::PrintToString(result.report.notes);
  const OpDivergence& op = *result.report.first_divergent_op;
  EXPECT_EQ(op.op, "aten::add");
  EXPECT_EQ(op.scope, "mlp");
  EXPECT_GT(op.ops_equal_before, 5);  // attention computed alike
  EXPECT_THAT(render_op_divergence(op), HasSubstr("aten::add #"));
  EXPECT_THAT(render_op_divergence(op), HasSubstr(" in mlp — "));
  EXPECT_FALSE(result.report.layer_drift);  // TorchScript does not say where its layers end
}

// Noise added to layer 1's MLP output, on every call: the built-in model
// becomes nondeterministic there, and the report must name that layer.
std::unique_ptr<at::ObserverContext> no_start(const at::RecordFunction&) { return nullptr; }
void perturb_layer_1(const at::RecordFunction& fn, at::ObserverContext*) {
  if (std::string(fn.name()) != "aten::addmm" || internal::current_op_scope() != "h.1.mlp.c_fc" ||
      fn.outputs().empty() || !fn.outputs()[0].isTensor()) {
    return;
  }
  static std::random_device entropy;
  at::Tensor out = fn.outputs()[0].toTensor();
  // Through the raw data: an ATen op here would be observed itself.
  float* data = out.data_ptr<float>();
  const float noise = 0.5f + 1e-6f * static_cast<float>(entropy() % 4000000);
  for (int64_t i = 0; i < out.numel(); ++i) data[i] += noise * static_cast<float>(i % 7);
}

TEST_F(ExplainTest, APerturbationInOneLayerIsNamedWithThatLayer) {
  const at::CallbackHandle handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(no_start, perturb_layer_1).needsOutputs(true));
  auto model = make_builtin_model(BuiltinConfig::tiny());
  CheckOptions o = options();
  o.determinism.tier = 2;  // any difference in the noise shows, in tokens or logprobs
  const CheckResult result = check(*model, kPrompts, o);
  at::removeCallback(handle);
  ASSERT_THAT(result.report.category,
              ::testing::AnyOf(Category::kRunVarianceFixedBatch, Category::kScoreVariance));
  ASSERT_TRUE(result.report.first_divergent_op) << ::testing::PrintToString(result.report.notes);
  EXPECT_THAT(result.report.first_divergent_op->scope, StartsWith("h.1.mlp"));
  EXPECT_THAT(render_op_divergence(*result.report.first_divergent_op), HasSubstr(" in h.1.mlp"));
  // Layer 0 and the attention of layer 1 computed alike on both sides.
  EXPECT_GT(result.report.first_divergent_op->ops_equal_before, 10);
  // The hidden states agree up to layer 0 and differ from layer 1 on.
  ASSERT_TRUE(result.report.layer_drift) << ::testing::PrintToString(result.report.notes);
  const std::vector<LayerDrift::Layer>& drift = result.report.layer_drift->layers;
  ASSERT_EQ(drift.size(), 2u + BuiltinConfig::tiny().n_layer);  // wte+wpe, h.*, lm_head
  EXPECT_EQ(drift[0].name, "wte+wpe");
  EXPECT_EQ(drift[0].max_abs_diff, 0);
  EXPECT_EQ(drift[1].name, "h.0");
  EXPECT_EQ(drift[1].max_abs_diff, 0);
  EXPECT_EQ(drift[2].name, "h.1");
  EXPECT_GT(drift[2].max_abs_diff, 0);
  EXPECT_EQ(drift.back().name, "lm_head");
  EXPECT_GT(drift.back().max_abs_diff, 0);
  EXPECT_THAT(render_text(result.report),
              HasSubstr("(max |Δ| after each layer): wte+wpe 0, h.0 0, h.1 "));
  const std::string pack_report = internal::read_file(result.pack_dir + "/report.json", "report");
  EXPECT_EQ(report_from_json(nlohmann::json::parse(pack_report)).layer_drift->layers.size(),
            drift.size());
  EXPECT_THAT(internal::read_file(result.pack_dir + "/report.html", "report.html"),
              HasSubstr("hidden-state drift after each layer"));
}

// A golden keeps each op's fingerprint: a later build that computes layer 1
// differently is named there, from the fingerprints alone.
TEST_F(ExplainTest, AGoldenMismatchNamesTheFirstOpThatDiffersFromTheGolden) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  GoldenOptions golden;
  golden.path = dir_.path() + "/golden/tiny.jsonl";
  golden.base = options();
  golden.force = true;
  golden.update = true;
  check_golden(*model, kPrompts, golden);
  EXPECT_THAT(internal::read_file(golden.path, "golden"),
              HasSubstr("\"artifact_type\":\"golden_op_fingerprints\""));
  EXPECT_EQ(read_golden(golden.path).op_fingerprints.size(), kPrompts.size());

  golden.update = false;
  EXPECT_TRUE(check_golden(*model, kPrompts, golden).passed());
  const at::CallbackHandle handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(no_start, perturb_layer_1).needsOutputs(true));
  const GoldenResult result = check_golden(*model, kPrompts, golden);
  at::removeCallback(handle);
  ASSERT_EQ(result.report.category, Category::kGoldenMismatch);
  ASSERT_TRUE(result.report.first_divergent_op) << ::testing::PrintToString(result.report.notes);
  const OpDivergence& op = *result.report.first_divergent_op;
  EXPECT_EQ(op.op, "aten::addmm");
  EXPECT_EQ(op.scope, "h.1.mlp.c_fc");
  EXPECT_GT(op.ops_equal_before, 10);
  EXPECT_THAT(render_op_divergence(op), HasSubstr("differs from the golden's fingerprint"));
  EXPECT_THAT(internal::read_file(result.pack_dir + "/report.txt", "report"),
              HasSubstr("first differing op: aten::addmm #"));

  // Recorded without explain, a golden has none, and the report says so.
  golden.base.explain = false;
  golden.update = true;
  check_golden(*model, kPrompts, golden);
  EXPECT_TRUE(read_golden(golden.path).op_fingerprints.empty());
  golden.base.explain = true;
  golden.update = false;
  const at::CallbackHandle again = at::addThreadLocalCallback(
      at::RecordFunctionCallback(no_start, perturb_layer_1).needsOutputs(true));
  const GoldenResult unnamed = check_golden(*model, kPrompts, golden);
  at::removeCallback(again);
  EXPECT_FALSE(unnamed.report.first_divergent_op);
  EXPECT_THAT(unnamed.report.notes, ::testing::Contains(HasSubstr("holds no op fingerprints")));
}

TEST_F(ExplainTest, CanBeTurnedOffAndSaysWhatItCannotLocalise) {
  auto model = torchscript(testing::Defect::kDropoutLeftOn);
  CheckOptions o = options();
  o.explain = false;
  EXPECT_FALSE(check(*model, kPrompts, o).report.first_divergent_op);

  std::random_device entropy;
  ModelInfo info;
  info.name = "callable:unseeded";
  auto callable = make_callable_model(
      [&](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        std::vector<Generation> out(batch.size());
        for (Generation& g : out) {
          for (int t = 0; t < config.max_new_tokens; ++t) g.tokens.push_back(entropy() % 256);
        }
        return out;  // tokens nobody seeded
      },
      info);
  const CheckResult result = check(*callable, kPrompts, options());
  ASSERT_FALSE(result.passed());
  EXPECT_FALSE(result.report.first_divergent_op);
  EXPECT_THAT(result.report.notes, ::testing::Contains(HasSubstr("a callable model's ops")));
}

}  // namespace
}  // namespace detllm

namespace detllm {
namespace {

// report.html in a failing pack: self-contained, with the divergence, the op,
// both token streams and the plots.
TEST_F(ExplainTest, AFailingPackHasASelfContainedReportHtml) {
  CheckOptions o = options();
  const CheckResult result = padding_bug_check(o);
  ASSERT_FALSE(result.passed());
  const std::string html = internal::read_file(result.pack_dir + "/report.html", "report.html");
  for (const char* part : {"FAIL: BATCH_VARIANCE", "First divergence (BATCH_VARIANCE)",
                           "First divergent op", "aten::index_select", "Token streams",
                           "batch size 1", "batch size 4", "tok diverged", "<svg"}) {
    EXPECT_THAT(html, HasSubstr(part));
  }
  for (const char* network : {"<script", "http://", "https://", "<link"}) {
    EXPECT_THAT(html, ::testing::Not(HasSubstr(network)));
  }
  // A passing check has none.
  auto fine = torchscript(testing::Defect::kNone);
  o.keep_passing_pack = true;
  const CheckResult passed = check(*fine, kPrompts, o);
  ASSERT_TRUE(passed.passed());
  EXPECT_FALSE(std::ifstream(passed.pack_dir + "/report.html").good());
}

// Pixels of a PNG screenshot within `tolerance` of the colour 0xRRGGBB
// (anti-aliasing blends the edges of a line; the page's other reds, #c22 and
// #d55, lie further off).
int pixels_of_colour(const std::string& png, uint32_t rgb, int tolerance = 6) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, png.c_str())) return -1;
  image.format = PNG_FORMAT_RGB;
  std::vector<png_byte> pixels(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr)) return -1;
  const int want[3] = {int(rgb >> 16) & 0xff, int(rgb >> 8) & 0xff, int(rgb) & 0xff};
  int count = 0;
  for (size_t i = 0; i + 2 < pixels.size(); i += 3) {
    bool near = true;
    for (int c = 0; c < 3; ++c) near = near && std::abs(pixels[i + c] - want[c]) <= tolerance;
    count += near;
  }
  return count;
}

// Rendered by a real browser (CI installs Debian's chromium; elsewhere the
// test is skipped without one): the screenshot shows the logit-margin plot's
// line and the red mark at the divergent token. The same page with its plots
// hidden shows neither, which proves the pixels come from the plot.
TEST_F(ExplainTest, ReportHtmlRendersInChromium) {
  if (!std::ifstream("/usr/bin/chromium").good()) {
    if (const char* ci = std::getenv("CI"); ci && *ci) FAIL() << "CI must install chromium";
    GTEST_SKIP() << "no /usr/bin/chromium";
  }
  CheckOptions o = options();
  const CheckResult result = padding_bug_check(o);
  ASSERT_FALSE(result.passed());
  auto screenshot = [&](const std::string& html_path, const std::string& name) {
    const std::string png = dir_.path() + "/" + name + ".png";
    const std::string command =
        "/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
        "--disable-component-update --disable-sync --no-first-run --hide-scrollbars "
        "--user-data-dir=" +
        dir_.path() + "/chromium --window-size=1200,1600 --screenshot=" + png + " '" + html_path +
        "' >/dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return png;
  };
  constexpr uint32_t kLine = 0x22aa66, kMark = 0xdd2222;  // report_html.cpp's plot colours
  const std::string shot = screenshot(result.pack_dir + "/report.html", "report");
  EXPECT_GT(pixels_of_colour(shot, kLine), 200) << "the margin plot's line is not drawn";
  EXPECT_GT(pixels_of_colour(shot, kMark), 40) << "the divergent token's mark is not drawn";

  std::string html = internal::read_file(result.pack_dir + "/report.html", "report.html");
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    html.replace(at, 4, "<svg style=\"display:none\"");
  }
  const std::string hidden_html = dir_.path() + "/hidden.html";
  std::ofstream(hidden_html) << html;
  const std::string hidden = screenshot(hidden_html, "hidden");
  EXPECT_EQ(pixels_of_colour(hidden, kLine), 0);
  EXPECT_EQ(pixels_of_colour(hidden, kMark), 0);
}

}  // namespace
}  // namespace detllm
