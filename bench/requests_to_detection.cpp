// Requests to detection, side by side: against llama.cpp's own server (the
// xllamacpp wheel, 8 slots, continuous batching) serving a random-weight
// 4-layer Llama, how many requests and seconds each method sends before it
// first reports a difference, for several seeds, within a budget of requests:
//
//   Ours/tier2, Ours/tier1  detllm::check of the same one prompt: run 0 alone,
//                           then a needle trial (the prompt among fillers of
//                           other lengths, in a batch of random size), one
//                           check per trial seed until one fails
//   SGLang/batch_sizes      SGLang's test_deterministic: one prompt sent at
//                           batch sizes 1, 2, … N, the distinct texts counted
//   vLLM/needle             vLLM's needle test: a prompt alone, then among
//                           random fillers in batches of random size, its
//                           text compared with the one alone
//
// Two models: f16 weights with a KV cache per slot (logprobs move under load,
// tokens rarely), and Q8_0 with a KV cache shared by the slots (tokens flip).
// Counters: requests (sent until the first difference, or the budget),
// detected (1 or 0), seconds. Needs DETLLM_LLAMA_SERVER_PYTHON (CMake sets it
// from scripts/test's pinned environment); docs/benchmarks.md has the figures.
//
//   build/bench/detllm_requests_to_detection [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "detllm_test/check.h"
#include "detllm_test/models.h"
#include "serving/http_client.h"
#include "serving/server_process.h"  // selftest/serving/

namespace {

using nlohmann::json;

constexpr int kBudget = 400;  // requests a method may send before it gives up
constexpr int kNewTokens = 16;
const std::vector<std::string> kPrompts = {"Hello there, how are you", "The capital of France is",
                                           "1, 2, 3, 4,",
                                           "A much longer prompt, so that the others are padded"};
const std::vector<std::string> kFillers = {"Once upon a time",
                                           "the rain in spain falls mainly",
                                           "x = 1; y = 2; print(x + y)",
                                           "In the beginning there was",
                                           "A",
                                           "Some more words to make a longer filler prompt here"};

// llama.cpp's server on one of the GGUFs, started once per model and kept
// for every benchmark of it.
struct Server {
  Server(const std::string& type, bool unified) : gguf(make(dir.path(), type)) {
    detllm::testing::LlamaServer::Options options;  // 8 slots
    options.unified = unified;
    server = std::make_unique<detllm::testing::LlamaServer>(
        DETLLM_LLAMA_SERVER_PYTHON, DETLLM_LLAMA_SERVER_SCRIPT, gguf, options);
  }
  static std::string make(const std::string& dir, const std::string& type) {
    const std::string gguf = dir + "/" + type + ".gguf";
    const std::string command = std::string(DETLLM_LLAMA_SERVER_PYTHON) + " " + DETLLM_MAKE_GGUF +
                                " " + gguf + " --type " + type + " --layers 4 --width 256";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
    return gguf;
  }
  std::string url() const { return server->url(); }
  detllm::testing::TempDir dir;
  std::string gguf;
  std::unique_ptr<detllm::testing::LlamaServer> server;
};

Server& server(const std::string& model) {
  static std::map<std::string, std::unique_ptr<Server>> servers;
  auto& s = servers[model];
  if (!s) s = std::make_unique<Server>(model == "f16" ? "f16" : "q8_0", model != "f16");
  return *s;
}

// Greedy completions of `prompts`, sent at once, as text (what the peers
// compare).
std::vector<std::string> texts(const Server& s, const std::vector<std::string>& prompts) {
  std::vector<detllm::internal::HttpRequest> requests;
  for (const std::string& p : prompts) {
    requests.push_back({s.url() + "/completions", json({{"prompt", p},
                                                        {"max_tokens", kNewTokens},
                                                        {"temperature", 0},
                                                        {"cache_prompt", false}})
                                                      .dump()});
  }
  std::vector<std::string> out;
  for (const auto& r : detllm::internal::send_all(requests, {})) {
    if (r.status != 200) throw std::runtime_error("the server failed: " + r.error + r.body);
    out.push_back(json::parse(r.body)["choices"][0]["text"].get<std::string>());
  }
  return out;
}

struct Outcome {
  int requests = 0;
  bool detected = false;
};

// Ours: one check per trial seed, each run 0 alone and one needle trial,
// until a check fails; the same prompt as the peers' (one per seed).
Outcome ours(const Server& s, int tier, int seed) {
  auto model = detllm::load_model(s.url() + "?disable_prompt_cache=true");
  const std::vector<detllm::Prompt> prompts = {
      detllm::Prompt(kPrompts[static_cast<size_t>(seed) % kPrompts.size()])};
  Outcome o;
  for (int trial = 0; o.requests < kBudget; ++trial) {
    detllm::CheckOptions c;
    c.runs = 1;
    c.needle_trials = 1;
    c.needle_max_batch_size = 8;
    c.decoding.max_new_tokens = kNewTokens;
    c.determinism.tier = tier;
    c.determinism.seed = static_cast<uint64_t>(seed) * 1000 + trial;  // the needle's batches
    c.out_dir = "";
    c.explain = false;
    const detllm::CheckResult r = detllm::check(*model, prompts, c);
    o.requests += 1;                                                             // run 0
    for (const auto& row : r.needle_traces.at(0)) o.requests += row.batch_size;  // with fillers
    if (!r.passed()) {
      o.detected = true;
      break;
    }
  }
  return o;
}

// SGLang's test_deterministic: the same prompt at batch sizes 1, 2, …; a
// second distinct text is a detection.
Outcome sglang(const Server& s, int seed) {
  const std::string& prompt = kPrompts[static_cast<size_t>(seed) % kPrompts.size()];
  std::set<std::string> distinct;
  Outcome o;
  for (int size = 1; o.requests + size <= kBudget; ++size) {
    for (const std::string& text : texts(s, std::vector<std::string>(size, prompt))) {
      distinct.insert(text);
    }
    o.requests += size;
    if (distinct.size() > 1) {
      o.detected = true;
      break;
    }
  }
  return o;
}

// vLLM's needle test: the needle alone, then among random fillers in batches
// of random size (up to 8); a text other than the one alone is a detection.
Outcome vllm(const Server& s, int seed) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  const std::string& needle = kPrompts[static_cast<size_t>(seed) % kPrompts.size()];
  const std::string alone = texts(s, {needle}).at(0);
  Outcome o{1, false};
  while (o.requests < kBudget) {
    const int size = std::uniform_int_distribution<int>(2, 8)(rng);
    std::vector<std::string> batch;
    for (int i = 0; i < size; ++i) {
      batch.push_back(kFillers[std::uniform_int_distribution<size_t>(0, kFillers.size() - 1)(rng)]);
    }
    const size_t at = std::uniform_int_distribution<size_t>(0, batch.size() - 1)(rng);
    batch[at] = needle;
    const std::vector<std::string> out = texts(s, batch);
    o.requests += size;
    if (out[at] != alone) {
      o.detected = true;
      break;
    }
  }
  return o;
}

void report(benchmark::State& state, const std::function<Outcome()>& method) {
  Outcome o;
  for (auto _ : state) o = method();
  state.counters["requests"] = o.requests;
  state.counters["detected"] = o.detected ? 1 : 0;
}

// One benchmark: a single iteration of `method`, timed on the wall clock.
void add(const std::string& name, std::function<Outcome()> method) {
  benchmark::RegisterBenchmark(name.c_str(), [method](benchmark::State& st) { report(st, method); })
      ->Iterations(1)
      ->Unit(benchmark::kSecond)
      ->UseRealTime();
}

void register_all() {
  for (const std::string model : {"f16", "q8_0_unified"}) {
    for (int seed = 1; seed <= 10; ++seed) {
      const std::string suffix = "/" + model + "/seed:" + std::to_string(seed);
      for (int tier : {2, 1}) {
        add("Ours/tier" + std::to_string(tier) + suffix,
            [=] { return ours(server(model), tier, seed); });
      }
      add("SGLang/batch_sizes" + suffix, [=] { return sglang(server(model), seed); });
      add("vLLM/needle" + suffix, [=] { return vllm(server(model), seed); });
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (std::string(DETLLM_LLAMA_SERVER_PYTHON).empty()) {
    std::fprintf(stderr,
                 "no DETLLM_LLAMA_SERVER_PYTHON: configure with scripts/test's pinned "
                 "llama.cpp server environment\n");
    return 1;
  }
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
