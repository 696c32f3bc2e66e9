// Generation speed of the built-in engine beside transformers' eager
// `generate`, on the same checkpoint (random weights written once by
// save_hf_checkpoint), the same prompts, 128 greedy tokens, the same thread
// count, float32 on the CPU. transformers runs in the pinned Python
// environment (bench/transformers_generate.py), timed in its own process
// after loading and a warm-up, as ours is.
//
//   build/bench/detllm_vs_transformers   # DETLLM_PYTHON: the venv's python (CMake sets it)
//
// Each Ours/... row reports `vs_transformers`: our tokens/s over transformers'
// for the same model and batch (the Transformers/... row just before it).
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <benchmark/benchmark.h>
#include <torch/version.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "detllm_test/models.h"
#include "detllm_test/tokenizer.h"
#include "env/cpu_facts.h"
#include "test_models.h"

namespace {

constexpr int kNewTokens = 128;
constexpr int kIterations = 3;
const char* const kPrompts[] = {"Choose one: A or B.", "The capital of France is",
                                "def fibonacci(n):", "Once upon a time,"};

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

int threads() {
  return std::stoi(env_or("DETLLM_BENCH_THREADS",
                          std::to_string(std::max(1u, std::thread::hardware_concurrency()))));
}

std::string python() { return env_or("DETLLM_PYTHON", DETLLM_DEFAULT_PYTHON); }

// The checkpoint of a preset, written once (seeded, so the same every time).
std::string checkpoint(const std::string& preset) {
  const std::string dir = env_or("DETLLM_BENCH_DIR", "/tmp/detllm-vs-transformers") + "/" + preset;
  if (!std::filesystem::exists(dir + "/config.json")) {
    auto model = detllm::make_builtin_model(detllm::BuiltinConfig::preset_named(preset));
    detllm::save_hf_checkpoint(*model, dir);
    // A byte-level tokenizer (the prompts are byte ids): GPT-2's files, or tokenizer.json.
    if (!detllm::BuiltinConfig::preset_named(preset).is_llama_architecture()) {
      detllm::testing::write_bpe_files(dir, {});
    } else {
      std::ofstream(dir + "/tokenizer.json") << detllm::testing::tiny_llama_tokenizer_json().dump();
    }
  }
  return dir;
}

std::vector<detllm::TokenIds> batch_of(int size) {
  detllm::ByteTokenizer tokenizer;
  std::vector<detllm::TokenIds> batch;
  for (int i = 0; i < size; ++i) batch.push_back(tokenizer.encode(kPrompts[i % 4]));
  return batch;
}

// transformers' tokens/s per "preset/batch", for the Ours row that follows.
std::map<std::string, double>& theirs() {
  static std::map<std::string, double> rates;
  return rates;
}

std::string key(const std::string& preset, int batch) {
  return preset + "/" + std::to_string(batch);
}

void Transformers(benchmark::State& state, const std::string& preset) {
  const int batch = static_cast<int>(state.range(0));
  if (!std::filesystem::exists(python())) {
    state.SkipWithError(("no pinned Python environment at '" + python() +
                         "' (scripts/test makes it; set DETLLM_PYTHON)")
                            .c_str());
    return;
  }
  const std::string dir = checkpoint(preset);
  const std::string ids = dir + "/ids-" + std::to_string(batch) + ".json";
  std::ofstream(ids) << nlohmann::json(batch_of(batch)).dump();
  const std::string command =
      python() + " " DETLLM_BENCH_SOURCE_DIR "/transformers_generate.py --dir " + dir + " --ids " +
      ids + " --tokens " + std::to_string(kNewTokens) + " --threads " + std::to_string(threads());
  // One process times every iteration (after its warm-up), as Ours does in this one.
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(
      popen((command + " --iterations " + std::to_string(kIterations)).c_str(), "r"), &pclose);
  std::string out;
  char buffer[4096];
  while (pipe && fgets(buffer, sizeof buffer, pipe.get())) out += buffer;
  const nlohmann::json result = nlohmann::json::parse(out, nullptr, false);
  if (!result.is_object() || !result.contains("seconds") ||
      result["seconds"].size() != static_cast<size_t>(kIterations)) {
    state.SkipWithError(("transformers_generate.py failed: " + out).c_str());
    return;
  }
  state.SetLabel("torch " + result["torch"].get<std::string>() + ", transformers " +
                 result["transformers"].get<std::string>() + ", " +
                 result["blas"].get<std::string>());
  double total = 0;
  size_t i = 0;
  for (auto _ : state) {
    const double seconds = result["seconds"][i++].get<double>();
    state.SetIterationTime(seconds);
    total += seconds;
  }
  const double rate = static_cast<double>(state.iterations()) * batch * kNewTokens / total;
  theirs()[key(preset, batch)] = rate;
  state.counters["tokens_per_s"] = rate;
}

void Ours(benchmark::State& state, const std::string& preset) {
  const int batch = static_cast<int>(state.range(0));
  at::set_num_threads(threads());
  auto model = detllm::load_hf_model(checkpoint(preset));
  const auto prompts = batch_of(batch);
  detllm::GenerationConfig config;
  config.max_new_tokens = kNewTokens;
  config.ignore_eos = true;
  benchmark::DoNotOptimize(model->generate(prompts, config));  // warm-up, as theirs
  double total = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(model->generate(prompts, config));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(seconds);
    total += seconds;
  }
  const double rate = static_cast<double>(state.iterations()) * batch * kNewTokens / total;
  state.counters["tokens_per_s"] = rate;
  const auto found = theirs().find(key(preset, batch));
  if (found != theirs().end()) state.counters["vs_transformers"] = rate / found->second;
  state.SetLabel(model->info().name);
}

void register_pair(const char* name, const std::string& preset) {
  for (int batch : {1, 4}) {
    benchmark::RegisterBenchmark(("Transformers/" + std::string(name)).c_str(), Transformers,
                                 preset)
        ->Arg(batch)
        ->UseManualTime()
        ->Iterations(kIterations)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("Ours/" + std::string(name)).c_str(), Ours, preset)
        ->Arg(batch)
        ->UseManualTime()
        ->Iterations(kIterations)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_pair("llama_small", "llama-small");  // SmolLM-135M's shape
  register_pair("gpt2_small", "small");         // GPT-2 124M
  register_pair("qwen3_small", "qwen3-small");  // Qwen3-0.6B's layer, 8 of them
  register_pair("moe_small", "moe-small");      // Qwen3-30B-A3B's routing: 128 experts, top 8
  benchmark::AddCustomContext("threads", std::to_string(threads()));
  // The BLAS: the shared library loaded (Debian's alternatives), or, for a
  // libtorch that links its own (the wheel's MKL), what its build says.
  const nlohmann::json blas = detllm::internal::blas_facts();
  std::string blas_name = blas.value("vendor", "unknown") + " (" + blas.value("library", "?") + ")";
  const std::string config = at::show_config();
  if (blas.value("vendor", "unknown") == "unknown" &&
      config.find("BLAS_INFO=") != std::string::npos) {
    const size_t at = config.find("BLAS_INFO=") + 10;
    blas_name = config.substr(at, config.find_first_of(",\n", at) - at) + " (inside libtorch_cpu)";
  }
  benchmark::AddCustomContext("ours",
                              std::string("libtorch ") + TORCH_VERSION + ", BLAS " + blas_name);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
