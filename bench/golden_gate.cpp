// What a release gate costs (docs/benchmarks.md#release-gates): a golden
// compared bit for bit (one free run) beside teacher-forced under auto (one
// scoring pass per prompt), and recording one with and without the
// calibration that auto needs — on the built-in models, 3 prompts of 16 tokens.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "detllm_test/golden_check.h"
#include "detllm_test/models.h"
#include "test_files.h"

namespace {

const std::vector<detllm::Prompt> kPrompts = {"The capital of France is", "Choose one: A or B.",
                                              "Once upon a time there was"};

detllm::GoldenOptions options(const std::string& path) {
  detllm::GoldenOptions o;
  o.path = path;
  o.base.out_dir.clear();
  o.base.explain = false;  // no op fingerprints: the calibration's cost alone
  o.base.decoding.max_new_tokens = 16;
  o.base.determinism.tier = 2;
  o.force = true;  // recording under CI too: this is a measurement
  return o;
}

// Records the golden, calibrated or not, each iteration.
void Record(benchmark::State& state, const std::string& preset, bool calibrate) {
  auto model = detllm::load_model(preset);
  detllm::testing::TempDir dir;
  detllm::GoldenOptions o = options(dir.path() + "/golden.jsonl");
  o.update = true;
  o.calibrate = calibrate;
  for (auto _ : state) benchmark::DoNotOptimize(detllm::check_golden(*model, kPrompts, o));
}

void Gate(benchmark::State& state, const std::string& preset, bool teacher_forced) {
  auto model = detllm::load_model(preset);
  detllm::testing::TempDir dir;
  detllm::GoldenOptions o = options(dir.path() + "/golden.jsonl");
  detllm::GoldenOptions record = o;
  record.update = true;
  detllm::check_golden(*model, kPrompts, record);
  if (teacher_forced) o.tolerance = detllm::Tolerance::Auto();
  for (auto _ : state) {
    const detllm::GoldenResult result = detllm::check_golden(*model, kPrompts, o);
    if (!result.passed()) state.SkipWithError("the golden did not match its own model");
  }
}

int registered = [] {
  for (const char* preset : {"builtin:tiny", "builtin:small"}) {
    const std::string name = std::string(preset).substr(8);
    benchmark::RegisterBenchmark(("GoldenGate/exact/" + name).c_str(), Gate, preset, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("GoldenGate/teacher_forced_auto/" + name).c_str(), Gate, preset,
                                 true)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("GoldenRecord/uncalibrated/" + name).c_str(), Record, preset,
                                 false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("GoldenRecord/calibrated/" + name).c_str(), Record, preset, true)
        ->Unit(benchmark::kMillisecond);
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
