// Generation speed, the harness's overhead, and trace/diff throughput.
//   build/bench/detllm_bench                        # everything (small takes minutes on CPU)
//   build/bench/detllm_bench --benchmark_filter=tiny
// CheckOverhead reports `overhead_ratio`: the wall time of a check of R runs
// divided by the wall time of R bare generate() calls over the same batches.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>

#include "artifacts/file_util.h"
#include "controls/control_table.h"
#include "detllm_test/check.h"
#include "detllm_test/determinism.h"
#include "detllm_test/diff.h"
#include "detllm_test/models.h"
#include "detllm_test/trace.h"
#include "explain/localize.h"
#include "test_models.h"
#include "tokenizers/tokenizer_files.h"

namespace {

using Clock = std::chrono::steady_clock;

const std::vector<detllm::Prompt> kPrompts = {"Choose one: A or B.", "The capital of France is",
                                              "def fibonacci(n):", "Once upon a time,"};

std::string device() {
  const char* d = std::getenv("DETLLM_BENCH_DEVICE");
  return d ? d : "cpu";
}

std::unique_ptr<detllm::Generator> model_for(const std::string& preset) {
  detllm::ModelOptions options;
  options.device = device();
  return detllm::make_builtin_model(detllm::BuiltinConfig::preset_named(preset), options);
}

std::vector<detllm::TokenIds> batch_of(int batch_size) {
  detllm::ByteTokenizer tokenizer;
  std::vector<detllm::TokenIds> batch;
  for (int i = 0; i < batch_size; ++i)
    batch.push_back(tokenizer.encode(kPrompts[i % kPrompts.size()].text));
  return batch;
}

// Bare generation: tokens per second of generate() alone.
void Generate(benchmark::State& state, const std::string& preset) {
  auto model = model_for(preset);
  const auto batch = batch_of(static_cast<int>(state.range(0)));
  detllm::GenerationConfig config;
  config.max_new_tokens = 16;
  for (auto _ : state) benchmark::DoNotOptimize(model->generate(batch, config));
  state.counters["tokens_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * batch.size() * config.max_new_tokens),
      benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(Generate, tiny, "tiny")->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Generate, small, "small")
    ->Arg(1)
    ->Arg(4)
    ->Arg(32)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

BENCHMARK_CAPTURE(Generate, llama_tiny, "llama-tiny")
    ->Arg(1)
    ->Arg(4)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Generate, llama_small, "llama-small")
    ->Arg(1)
    ->Arg(4)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
// Qwen3's layer (q/k norm, head_dim 128), and experts routed per token.
BENCHMARK_CAPTURE(Generate, qwen3_small, "qwen3-small")
    ->Arg(1)
    ->Arg(4)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(Generate, moe_tiny, "moe-tiny")->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Generate, moe_small, "moe-small")
    ->Arg(1)
    ->Arg(4)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

// The cost of one decode step after a prompt of state.range(0) tokens: the
// time of 17 new tokens minus that of 1 (the prefill and its first token),
// over 16. With the KV cache it stays nearly flat as the prompt grows;
// without one each step would re-run the whole sequence.
void DecodeStep(benchmark::State& state, const std::string& preset) {
  auto model = model_for(preset);
  detllm::TokenIds prompt;
  for (int64_t i = 0; i < state.range(0); ++i) prompt.push_back(32 + (i * 7919) % 90);
  detllm::GenerationConfig one, seventeen;
  one.max_new_tokens = 1;
  seventeen.max_new_tokens = 17;
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    benchmark::DoNotOptimize(model->generate({prompt}, one));
    const auto t1 = Clock::now();
    benchmark::DoNotOptimize(model->generate({prompt}, seventeen));
    const auto t2 = Clock::now();
    const std::chrono::duration<double> steps = (t2 - t1) - (t1 - t0);
    state.SetIterationTime(std::max(steps.count(), 0.0) / 16);
  }
}
BENCHMARK_CAPTURE(DecodeStep, llama_small, "llama-small")
    ->Arg(16)
    ->Arg(128)
    ->Arg(512)
    ->Arg(1024)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// A check of R runs (with its pack) against R bare generate() calls of the same
// batches; the ratio is what the harness costs on top of inference.
void CheckOverhead(benchmark::State& state, const std::string& preset) {
  auto model = model_for(preset);
  const int runs = static_cast<int>(state.range(0));
  const std::string out = (std::filesystem::temp_directory_path() / "detllm_bench_packs").string();
  detllm::CheckOptions options;
  options.runs = runs;
  options.decoding.max_new_tokens = 16;
  options.out_dir = out;
  // Same thread count for both sides, so the ratio measures the harness alone.
  options.determinism.threads = 0;
  // Bare and check alternate, each going first in every other iteration: the
  // second of two equal workloads measures a few percent slower here (seen: two
  // bare runs in a row, 1.04), so a fixed order would bias the ratio. The ratio
  // is of the medians, so that a model call's own jitter does not decide it.
  std::vector<double> bare_s, check_s;
  auto time_bare = [&] {
    const auto start = Clock::now();
    // Bare generation under the same controls: the ratio is the harness's
    // cost, not that of deterministic kernels (measured by Controls below).
    detllm::DeterminismScope scope(options.determinism, device());
    for (int r = 0; r < runs; ++r) {
      for (const detllm::Prompt& prompt : kPrompts) {
        benchmark::DoNotOptimize(
            model->generate({model->tokenizer().encode(prompt.text)}, options.decoding));
      }
    }
    bare_s.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  };
  auto time_check = [&] {
    const auto start = Clock::now();
    benchmark::DoNotOptimize(detllm::check(*model, kPrompts, options));
    check_s.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  };
  for (auto _ : state) {
    if (check_s.size() % 2 == 0) {
      time_bare();
      time_check();
    } else {
      time_check();
      time_bare();
    }
    state.SetIterationTime(check_s.back());
  }
  detllm::internal::remove_tree(out);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  state.counters["bare_ms"] = 1e3 * median(bare_s);
  state.counters["check_ms"] = 1e3 * median(check_s);
  state.counters["overhead_ratio"] = median(check_s) / median(bare_s);
}
BENCHMARK_CAPTURE(CheckOverhead, tiny, "tiny")
    ->Arg(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(5.0);
// Two iterations on the CPU (minutes each); ten on a GPU, where a ratio of two
// was too noisy to read (docs/gpu.md).
int registered_check_overhead_small = [] {
  benchmark::RegisterBenchmark("CheckOverhead/small", CheckOverhead, "small")
      ->Arg(3)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(device() == "cuda" ? 10 : 2);
  return 0;
}();

// The harness's own cost, with nothing to infer: a check of 5 runs over the
// same 4 prompts of a model that answers instantly (16 fixed tokens with
// logprobs): without a pack (0), with one (1), and with the pack kept only on
// failure (2, what the assertions do). Against CheckOverhead's bare_ms this is
// the fixed cost a check adds to inference.
void CheckFixedCost(benchmark::State& state) {
  detllm::ModelInfo info;
  info.name = "instant";
  auto model = detllm::make_callable_model(
      [](const std::vector<detllm::TokenIds>& batch, const detllm::GenerationConfig& config) {
        std::vector<detllm::Generation> out(batch.size());
        for (detllm::Generation& g : out) {
          for (int t = 0; t < config.max_new_tokens; ++t) {
            g.tokens.push_back(65 + t);
            g.logprobs.push_back(-0.25 * t);
            g.logit_margins.push_back(1.0);
          }
        }
        return out;
      },
      info);
  const std::string out = (std::filesystem::temp_directory_path() / "detllm_bench_fixed").string();
  detllm::CheckOptions options;
  options.runs = 5;
  options.decoding.max_new_tokens = 16;
  options.determinism.threads = 0;
  options.out_dir = state.range(0) == 0 ? "" : out;
  options.keep_passing_pack = state.range(0) == 1;
  for (auto _ : state) benchmark::DoNotOptimize(detllm::check(*model, kPrompts, options));
  detllm::internal::remove_tree(out);
  state.SetLabel(state.range(0) == 0   ? "no pack"
                 : state.range(0) == 1 ? "with pack"
                                       : "pack on failure");
}
BENCHMARK(CheckFixedCost)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

// What naming the first divergent op costs: a failing check (the TorchScript
// model with the padding bug, batch sizes 1 and 4, 16 tokens) with
// localisation off (0) and on (1): the difference is the two re-runs under the
// op recorder, up to the divergent token (here the first).
void ExplainCost(benchmark::State& state) {
  detllm::testing::TempDir dir;
  auto model = detllm::load_torchscript_model(detllm::testing::write_torchscript_model(
      dir.path(), detllm::testing::Defect::kIgnoresPadding));
  const std::vector<detllm::Prompt> prompts = {"Hello",
                                               "A longer prompt so that the others are padded."};
  detllm::CheckOptions options;
  options.runs = 1;
  options.vary_batch = {1, 4};
  options.out_dir.clear();
  options.explain = state.range(0) == 1;
  for (auto _ : state) benchmark::DoNotOptimize(detllm::check(*model, prompts, options));
  if (options.explain) {
    const auto result = detllm::check(*model, prompts, options);
    state.SetLabel(result.report.first_divergent_op ? result.report.first_divergent_op->op
                                                    : "no op named");
  }
}
BENCHMARK(ExplainCost)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Localising a late divergence: the two sides' re-runs under the op recorder,
// generating every token up to the divergent one (here the 32nd), each op's
// output copied and the two sequences compared op for op (1), against one
// plain run of the same prompt (0). Both sides agree here, the worst case:
// every op is compared. Per side, the cost is half of (1).
void LocaliseLateDivergence(benchmark::State& state, const std::string& preset) {
  auto model = model_for(preset);
  const auto batch = batch_of(1);
  detllm::GenerationConfig config;
  config.max_new_tokens = 32;
  const detllm::internal::LocalizationSide side{batch, 0, 0};
  benchmark::DoNotOptimize(model->generate(batch, config));  // warm-up outside the timing
  if (state.range(0) == 0) {
    for (auto _ : state) benchmark::DoNotOptimize(model->generate(batch, config));
    state.SetLabel("plain run");
  } else {
    for (auto _ : state)
      benchmark::DoNotOptimize(detllm::internal::localize(*model, side, side, config));
    const auto found = detllm::internal::localize(*model, side, side, config);
    state.SetLabel("two recorded re-runs" + std::string(found.layer_drift ? ", layer drift" : "") +
                   (found.op ? ", op named" : ""));
  }
}
BENCHMARK_CAPTURE(LocaliseLateDivergence, tiny, "tiny")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(LocaliseLateDivergence, small, "small")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// What the determinism controls themselves cost: generation with and without them.
void Controls(benchmark::State& state, const std::string& preset) {
  auto model = model_for(preset);
  const auto batch = batch_of(static_cast<int>(state.range(1)));
  detllm::GenerationConfig config;
  config.max_new_tokens = 16;
  detllm::DeterminismOptions determinism;
  determinism.threads = 0;
  std::unique_ptr<detllm::DeterminismScope> scope;
  if (state.range(0) == 1)
    scope = std::make_unique<detllm::DeterminismScope>(determinism, device());
  benchmark::DoNotOptimize(model->generate(batch, config));  // warm-up outside the timing
  for (auto _ : state) benchmark::DoNotOptimize(model->generate(batch, config));
  state.SetLabel(state.range(0) == 1 ? "controls on" : "controls off");
}
BENCHMARK_CAPTURE(Controls, tiny, "tiny")
    ->Args({0, 4})
    ->Args({1, 4})
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Controls, small, "small")
    ->Args({0, 4})
    ->Args({1, 4})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// What each control costs alone: generation with one control set as the
// harness sets it, every other as libtorch left it, against Controls' "off"
// row. The controls are the one table's (src/controls/control_table.h);
// split_k_off is the reductions' control with cublas_split_k false. A control
// only CUDA reads changes nothing on the CPU, and the label says so; an
// environment variable (CUBLAS_WORKSPACE_CONFIG) is read when cuBLAS makes its
// handle, which the first GEMM of the process may already have done.
void ControlAlone(benchmark::State& state, const std::string& preset, const std::string& name,
                  bool split_k) {
  const detllm::internal::Control* control = nullptr;
  for (const auto& c : detllm::internal::controls()) {
    if (name == c.name) control = &c;
  }
  detllm::DeterminismOptions wanted;
  wanted.cublas_split_k = split_k;
  const std::string value = control->wanted(wanted);
  const std::string before = control->read();
  auto model = model_for(preset);
  const auto batch = batch_of(static_cast<int>(state.range(0)));
  detllm::GenerationConfig config;
  config.max_new_tokens = 16;
  control->write(value);
  benchmark::DoNotOptimize(model->generate(batch, config));  // warm-up outside the timing
  for (auto _ : state) benchmark::DoNotOptimize(model->generate(batch, config));
  std::string label = std::string(control->name) + "=" + control->read();
  if (value == before) label += " (libtorch's own: no change)";
  if (control->cuda_only && device() != "cuda") label += " (CUDA only: no effect here)";
  if (std::string(control->group) == "env") label += " (read when cuBLAS makes its handle)";
  control->write(before);
  state.SetLabel(label);
}

int registered_control_alone = [] {
  const detllm::DeterminismOptions defaults;
  for (const char* preset : {"tiny", "small"}) {
    for (const auto& c : detllm::internal::controls()) {
      if (c.write == nullptr || c.wanted(defaults).empty()) continue;
      const std::string base = std::string("ControlAlone/") + preset + "/" + c.name;
      for (const bool split_k : {true, false}) {
        detllm::DeterminismOptions no_split = defaults;
        no_split.cublas_split_k = false;
        if (!split_k && c.wanted(no_split) == c.wanted(defaults)) continue;
        auto* b = benchmark::RegisterBenchmark(
            (base + (split_k ? "" : "/split_k_off")).c_str(),
            [=](benchmark::State& state) { ControlAlone(state, preset, c.name, split_k); });
        b->Arg(4)->Unit(benchmark::kMillisecond);
        if (std::string(preset) == "small") b->Iterations(3);
      }
    }
  }
  return 0;
}();

// A large trace: 20,000 prompts of 64 input and 128 generated tokens with logprobs.
const detllm::Trace& large_trace() {
  static const detllm::Trace trace = [] {
    std::mt19937_64 rng(1);
    detllm::Trace t(20000);
    for (size_t i = 0; i < t.size(); ++i) {
      auto& row = t[i];
      row.prompt_id = std::to_string(i);
      row.tokenizer_id = "detllm/bytes";
      for (int k = 0; k < 64; ++k)
        row.input_token_ids.push_back(static_cast<int64_t>(rng() % 50257));
      row.input_token_ids_hash = detllm::token_ids_hash(row.input_token_ids);
      std::vector<double> scores;
      for (int k = 0; k < 128; ++k) {
        row.generated_token_ids.push_back(static_cast<int64_t>(rng() % 50257));
        scores.push_back(-static_cast<double>(rng() % 100000) / 7919.0);
        row.logit_margins.push_back(static_cast<double>(rng() % 1000) / 997.0);
      }
      row.scores = scores;
    }
    return t;
  }();
  return trace;
}

void DiffLargeTrace(benchmark::State& state) {
  const detllm::Trace& left = large_trace();
  const detllm::Trace right = left;
  for (auto _ : state)
    benchmark::DoNotOptimize(
        detllm::diff_traces(left, right, {detllm::Category::kRunVarianceFixedBatch, true}));
  state.counters["rows_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * left.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(DiffLargeTrace)->Unit(benchmark::kMillisecond);

void WriteTrace(benchmark::State& state) {
  const std::string path = (std::filesystem::temp_directory_path() / "detllm_bench.jsonl").string();
  for (auto _ : state) detllm::write_trace(path, large_trace());
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * std::filesystem::file_size(path)));
  std::filesystem::remove(path);
}
BENCHMARK(WriteTrace)->Unit(benchmark::kMillisecond);

void ReadTrace(benchmark::State& state) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "detllm_bench_read.jsonl").string();
  detllm::write_trace(path, large_trace());
  for (auto _ : state) benchmark::DoNotOptimize(detllm::read_trace(path));
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * std::filesystem::file_size(path)));
  std::filesystem::remove(path);
}
BENCHMARK(ReadTrace)->Unit(benchmark::kMillisecond);

// GPT-2's tokenizer on English text, with merges that build every word of the
// text (and its space-prefixed form) letter by letter: a few thousand merges,
// so that each piece goes through many merge rounds, as with GPT-2's 50,000.
void Gpt2Tokenize(benchmark::State& state) {
  const std::vector<std::string> words = {
      "the",       "determinism", "of",         "inference",   "batch",    "invariant",
      "tokenizer", "and",         "generation", "repeatable",  "logits",   "kernel",
      "reduction", "matrix",      "attention",  "transformer", "sequence", "padding",
      "position",  "vocabulary",  "merges",     "with"};
  std::vector<std::pair<std::string, std::string>> merges;
  std::set<std::pair<std::string, std::string>> seen;
  for (const std::string& word : words) {
    for (const std::string& form : {word, "Ġ" + word}) {
      const size_t first = form.rfind("Ġ", 0) == 0 ? 2 : 1;  // "Ġ" is 2 bytes of UTF-8
      for (size_t i = first; i < form.size(); ++i) {
        std::pair<std::string, std::string> merge{form.substr(0, i), form.substr(i, 1)};
        if (seen.insert(merge).second) merges.push_back(merge);
      }
    }
  }
  detllm::testing::TempDir dir;
  detllm::testing::write_bpe_files(dir.path(), merges);
  auto tokenizer = detllm::load_gpt2_tokenizer(dir.path());
  std::mt19937 rng(0);
  std::string text;
  while (text.size() < static_cast<size_t>(state.range(0))) {
    text += words[rng() % words.size()];
    text += rng() % 8 == 0 ? ".\n" : " ";
  }
  size_t tokens = 0;
  for (auto _ : state) tokens += tokenizer->encode(text).size();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.counters["merges"] = static_cast<double>(merges.size());
}
BENCHMARK(Gpt2Tokenize)->Arg(1 << 10)->Arg(1 << 16)->Unit(benchmark::kMicrosecond);

// tokenizer.json with Llama 3's Split regex (PCRE2) and byte-level symbols.
void Llama3Tokenize(benchmark::State& state) {
  const auto tokenizer = detllm::internal::hf_tokenizer_from_json(
      "bench/tokenizer.json", detllm::testing::tiny_llama_tokenizer_json().dump());
  std::mt19937 rng(0);
  const std::vector<std::string> words = {"the",  "determinism", "of",   "inference", "batch",
                                          "It's", "42",          "café", "東京",      "x+y"};
  std::string text;
  while (text.size() < static_cast<size_t>(state.range(0))) {
    text += words[rng() % words.size()];
    text += rng() % 8 == 0 ? ".\n" : " ";
  }
  size_t tokens = 0;
  for (auto _ : state) tokens += tokenizer->encode(text).size();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(Llama3Tokenize)->Arg(1 << 10)->Arg(1 << 16)->Unit(benchmark::kMicrosecond);

// A SentencePiece-style tokenizer.json (Llama 2's: no pre-tokenizer, so the
// whole text is one word for the merges), with merges that build every word
// letter by letter after "▁".
void SentencePieceStyleTokenize(benchmark::State& state) {
  const std::string space = "\xe2\x96\x81";
  const std::vector<std::string> words = {"the",       "determinism", "of",     "inference",
                                          "batch",     "invariant",   "tokens", "kernel",
                                          "reduction", "attention"};
  nlohmann::json vocab = {{"<unk>", 0}, {"<s>", 1}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = vocab.size();
  }
  const auto add = [&](const std::string& token) {
    if (!vocab.contains(token)) vocab[token] = vocab.size();
  };
  add(space);
  for (char c = 'a'; c <= 'z'; ++c) add(std::string(1, c));
  add(".");
  nlohmann::json merges = nlohmann::json::array();
  for (const std::string& word : words) {
    std::string built = space;
    for (char c : word) {
      const std::string next = built + c;
      if (!vocab.contains(next)) {
        merges.push_back({built, std::string(1, c)});
        add(next);
      }
      built = next;
    }
  }
  const nlohmann::json file = {
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", space}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", space}}}}}},
      {"model", {{"type", "BPE"}, {"byte_fallback", true}, {"vocab", vocab}, {"merges", merges}}}};
  const auto tokenizer =
      detllm::internal::hf_tokenizer_from_json("bench/tokenizer.json", file.dump());
  std::mt19937 rng(0);
  std::string text;
  while (text.size() < static_cast<size_t>(state.range(0))) {
    text += words[rng() % words.size()];
    text += rng() % 8 == 0 ? ". " : " ";
  }
  size_t tokens = 0;
  for (auto _ : state) tokens += tokenizer->encode(text).size();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}
BENCHMARK(SentencePieceStyleTokenize)->Arg(1 << 10)->Arg(1 << 16)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
