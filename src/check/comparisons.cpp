// The comparison table. Each entry's functions are small and beside it, so
// that what a kind of comparison means is read in one place.
#include "check/comparisons.h"

#include <algorithm>
#include <sstream>

#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

using nlohmann::json;
using Varies = Comparison::Varies;

// "1, 4, 16": `first`, then `values` without it.
std::string with_first(int first, const std::vector<int>& values) {
  std::string out = std::to_string(first);
  for (const int v : values) {
    if (v != first) out += ", " + std::to_string(v);
  }
  return out;
}

std::string tier_and_batch(const CheckOptions& o) {
  return " (tier " + std::to_string(o.determinism.tier) + ", batch size " +
         std::to_string(o.batch_size) + ")";
}

// kRun: the runs at the baseline batch size.
Trace& run_slot(CheckRun& run, int r) { return run.result.runs.at(r); }
void write_runs(const CheckOptions& o, json& replay) { replay["runs"] = o.runs; }
void read_runs(const json& replay, CheckOptions& o) { o.runs = replay.at("runs").get<int>(); }
std::string claim_repeatable(const CheckOptions& o) {
  return " is repeatable over " + std::to_string(o.runs) + " runs" + tier_and_batch(o);
}

// kGolden: the golden file's rows.
Trace& golden_slot(CheckRun& run, int) {
  if (!run.golden) throw Error("internal: a golden phase without a golden");
  return run.golden->file.rows;
}

// kBatchSize: one run at each other batch size.
Trace& batch_slot(CheckRun& run, int b) { return run.result.batch_traces[b]; }
void write_batch_sizes(const CheckOptions& o, json& replay) { replay["vary_batch"] = o.vary_batch; }
void read_batch_sizes(const json& replay, CheckOptions& o) {
  o.vary_batch = replay.at("vary_batch").get<std::vector<int>>();
}
void batch_defaults(CheckOptions& o) {
  o.runs = 1;
  o.batch_size = 1;
  o.vary_batch = {1, 4, 16};
}
std::string claim_batch_invariant(const CheckOptions& o) {
  std::string claim =
      " is batch invariant at batch sizes " + with_first(o.batch_size, o.vary_batch);
  if (o.needle_trials > 0) {
    claim += " and in " + std::to_string(o.needle_trials) + " needle trials up to batch size " +
             std::to_string(o.needle_max_batch_size);
  }
  return claim + " (tier " + std::to_string(o.determinism.tier) + ")";
}

// kNeedle: each prompt among fillers, checked by EXPECT_BATCH_INVARIANT.
Trace& needle_slot(CheckRun& run, int t) { return run.result.needle_traces.at(t); }
void write_needles(const CheckOptions& o, json& replay) {
  replay["needle_trials"] = o.needle_trials;
  replay["needle_max_batch_size"] = o.needle_max_batch_size;
}
void read_needles(const json& replay, CheckOptions& o) {
  o.needle_trials = replay.at("needle_trials").get<int>();
  o.needle_max_batch_size = replay.at("needle_max_batch_size").get<int>();
}

// kThreads: one run at each other intra-op thread count.
Trace& thread_slot(CheckRun& run, int t) { return run.result.thread_traces[t]; }
void write_threads(const CheckOptions& o, json& replay) { replay["vary_threads"] = o.vary_threads; }
void read_threads(const json& replay, CheckOptions& o) {
  o.vary_threads = replay.value("vary_threads", std::vector<int>{});
}
void thread_defaults(CheckOptions& o) {
  o.runs = 1;
  o.vary_threads = {1, 2, 4};
  o.determinism.threads = 1;
}
std::string claim_thread_invariant(const CheckOptions& o) {
  return " is thread invariant at thread counts " +
         with_first(o.determinism.threads, o.vary_threads) + tier_and_batch(o);
}

// kPrefill: run 0 rescored in one forward pass per prompt.
Trace& prefill_slot(CheckRun& run, int) { return run.result.prefill_trace; }
void write_prefill(const CheckOptions& o, json& replay) {
  replay["prefill_vs_decode"] = o.prefill_vs_decode;
}
void read_prefill(const json& replay, CheckOptions& o) {
  o.prefill_vs_decode = replay.value("prefill_vs_decode", false);
}
void prefill_defaults(CheckOptions& o) {
  o.runs = 1;
  o.prefill_vs_decode = true;
}
std::string claim_prefill(const CheckOptions& o) {
  return " scores its decoded tokens in one forward pass as it decoded them" + tier_and_batch(o);
}

}  // namespace

const std::vector<Comparison>& comparisons() {
  static const std::vector<Comparison> table = {
      {PhaseKind::kRun, &Report::first_divergence, Category::kRunVarianceFixedBatch, false, false,
       Varies::kNothing, run_slot, write_runs, read_runs, nullptr, claim_repeatable},
      {PhaseKind::kGolden, &Report::first_divergence, Category::kGoldenMismatch, true, true,
       Varies::kNothing, golden_slot, nullptr, nullptr, nullptr, nullptr},
      {PhaseKind::kBatchSize, &Report::batch_divergence, Category::kBatchVariance, false, false,
       Varies::kBatch, batch_slot, write_batch_sizes, read_batch_sizes, batch_defaults,
       claim_batch_invariant},
      {PhaseKind::kNeedle, &Report::batch_divergence, Category::kBatchVariance, false, false,
       Varies::kBatch, needle_slot, write_needles, read_needles, nullptr, nullptr},
      {PhaseKind::kThreads, &Report::thread_divergence, Category::kThreadVariance, false, false,
       Varies::kThreads, thread_slot, write_threads, read_threads, thread_defaults,
       claim_thread_invariant},
      {PhaseKind::kPrefill, &Report::prefill_divergence, Category::kPrefillDecodeMismatch, true,
       false, Varies::kNothing, prefill_slot, write_prefill, read_prefill, prefill_defaults,
       claim_prefill},
  };
  return table;
}

const Comparison& comparison_of(PhaseKind kind) {
  for (const Comparison& c : comparisons()) {
    if (c.kind == kind) return c;
  }
  throw Error("internal: no comparison of this kind");
}

Trace& trace_of(CheckRun& run, const Phase& phase) {
  return comparison_of(phase.kind).slot(run, phase.value);
}

}  // namespace detllm::internal
