// What a release gate costs over an API (docs/benchmarks.md#release-gates):
// llama.cpp's own server (8 slots) serving a random-weight 4-layer Llama as
// f32, gated against the golden our engine records on the same weights —
// bit for bit (free generation: one request per prompt) beside teacher-forced
// under a tolerance (one request per generated position). Counters: requests
// sent per gate, and the prompt tokens the server processed for them (its
// /metrics), which teacher forcing multiplies; beside them the same gates on
// our engine and the same weights.
//
//   build/bench/detllm_served_gate_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "detllm_test/golden_check.h"
#include "detllm_test/models.h"
#include "serving/http_client.h"
#include "serving/server_metrics.h"
#include "serving/server_process.h"  // selftest/serving/

namespace {

constexpr int kNewTokens = 16;
const std::vector<detllm::Prompt> kPrompts = {"The capital of France is", "Choose one: A or B.",
                                              "Once upon a time there was"};

// The f32 GGUF and its checkpoint, the server on it and our engine's golden:
// made once for every benchmark.
struct Setup {
  Setup() {
    const std::string command = std::string(DETLLM_LLAMA_SERVER_PYTHON) + " " + DETLLM_MAKE_GGUF +
                                " " + gguf() + " --type f32 --layers 4 --width 256 --checkpoint " +
                                checkpoint();
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
    server = std::make_unique<detllm::testing::LlamaServer>(
        DETLLM_LLAMA_SERVER_PYTHON, DETLLM_LLAMA_SERVER_SCRIPT, gguf(),
        detllm::testing::LlamaServer::Options());  // 8 slots, llama.cpp's defaults
    auto ours = detllm::load_model(checkpoint());
    detllm::GoldenOptions record = options(detllm::Tolerance::Exact());
    record.update = true;
    record.force = true;  // recording under CI too: this is a measurement
    detllm::check_golden(*ours, kPrompts, record);
  }
  std::string gguf() const { return dir.path() + "/f32.gguf"; }
  std::string checkpoint() const { return dir.path() + "/checkpoint"; }
  detllm::GoldenOptions options(const detllm::Tolerance& tolerance) const {
    detllm::GoldenOptions o;
    o.path = dir.path() + "/golden.jsonl";
    o.base.out_dir.clear();
    o.base.explain = false;
    o.base.decoding.max_new_tokens = kNewTokens;
    o.base.determinism.tier = 2;
    o.tolerance = tolerance;
    return o;
  }
  detllm::testing::TempDir dir;
  std::unique_ptr<detllm::testing::LlamaServer> server;
};

Setup& setup() {
  static Setup s;
  return s;
}

// The server's count of prompt tokens processed so far (its /metrics).
double prompt_tokens(const std::string& url) {
  const auto r = detllm::internal::send({url + "/metrics", ""}, {});
  const auto metrics = detllm::internal::parse_metrics(r.body);
  const auto it = metrics.find("llamacpp:prompt_tokens_total");
  if (r.status != 200 || it == metrics.end()) {
    throw std::runtime_error("no llamacpp:prompt_tokens_total in " + url + "/metrics");
  }
  return it->second;
}

void Gate(benchmark::State& state, bool teacher_forced) {
  Setup& s = setup();
  auto served = detllm::load_model(s.server->url("?disable_prompt_cache=true"));
  // A tolerance wide enough for the f32 deployment's drift (~1e-2): the
  // measurement is the gate's cost, so it must run to its end and pass.
  const detllm::GoldenOptions o =
      s.options(teacher_forced ? detllm::Tolerance::Given(5e-2) : detllm::Tolerance::Exact());
  const std::string root = s.server->url().substr(0, s.server->url().size() - 3);  // no /v1
  double requests = 0, tokens = 0;
  for (auto _ : state) {
    const double before = prompt_tokens(root);
    const detllm::GoldenResult result = detllm::check_golden(*served, kPrompts, o);
    tokens += prompt_tokens(root) - before;
    if (teacher_forced && !result.passed()) state.SkipWithError("the f32 deployment failed");
    // Free generation sends a prompt once; teacher forcing, once per position.
    requests += teacher_forced ? static_cast<double>(kPrompts.size() * kNewTokens)
                               : static_cast<double>(kPrompts.size());
  }
  state.counters["requests"] = benchmark::Counter(requests, benchmark::Counter::kAvgIterations);
  state.counters["prompt_tokens"] = benchmark::Counter(tokens, benchmark::Counter::kAvgIterations);
}

// The same gate on our engine, the checkpoint of the same weights: what the
// API adds.
void LocalGate(benchmark::State& state, bool teacher_forced) {
  Setup& s = setup();
  auto ours = detllm::load_model(s.checkpoint());
  const detllm::GoldenOptions o =
      s.options(teacher_forced ? detllm::Tolerance::Auto() : detllm::Tolerance::Exact());
  for (auto _ : state) {
    if (!detllm::check_golden(*ours, kPrompts, o).passed()) {
      state.SkipWithError("the golden did not match its own model");
    }
  }
}

int registered = [] {
  if (std::string(DETLLM_LLAMA_SERVER_PYTHON).empty()) return 0;  // no pinned environment
  benchmark::RegisterBenchmark("ServedGate/exact/ours", LocalGate, false)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("ServedGate/teacher_forced/ours", LocalGate, true)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("ServedGate/exact/llama.cpp_f32", Gate, false)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("ServedGate/teacher_forced/llama.cpp_f32", Gate, true)
      ->Unit(benchmark::kMillisecond);
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
