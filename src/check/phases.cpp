// A check's phases, computed once: every later step (running, comparing,
// the pack, replay's batch composition, localisation) reads the batches from
// here instead of recomputing them from (prompts, batch size, seed).
#include "check/phases.h"

#include <algorithm>

namespace detllm::internal {
namespace {

std::string label_batch(int b) { return "batch size " + std::to_string(b); }

// `values` without `baseline` and without repeats, in the order asked for.
std::vector<int> extra(const std::vector<int>& values, int baseline) {
  std::vector<int> out;
  for (const int v : values) {
    if (v != baseline && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

}  // namespace

Phase run_phase(const RunOptions& options, size_t requests) {
  Phase run;
  run.label = "run 0";
  run.left_label = "run 0";
  run.trace_file = "traces/run_0.jsonl";
  run.plans = plan_in_order(requests, options.batch_size, options.determinism.seed.value_or(0));
  return run;
}

Phase golden_phase() {
  Phase golden;
  golden.kind = Phase::Kind::kGolden;
  golden.label = "golden";
  golden.left_label = "now";
  golden.trace_file = "golden.jsonl";
  return golden;
}

std::vector<Phase> check_phases(const CheckOptions& options, size_t requests,
                                int threads_in_force) {
  const uint64_t seed = options.determinism.seed.value_or(0);
  const Phase run0 = run_phase(options, requests);
  std::vector<Phase> phases;
  for (int r = 0; r < options.runs; ++r) {
    Phase run = run0;
    run.value = r;
    run.label = "run " + std::to_string(r);
    run.progress = "run " + std::to_string(r + 1) + " of " + std::to_string(options.runs);
    run.trace_file = "traces/run_" + std::to_string(r) + ".jsonl";
    phases.push_back(std::move(run));
  }
  for (const int b : extra(options.vary_batch, options.batch_size)) {
    phases.push_back({Phase::Kind::kBatchSize, b, label_batch(b), label_batch(options.batch_size),
                      label_batch(b), "traces/batch_" + std::to_string(b) + ".jsonl",
                      plan_in_order(requests, b, seed)});
  }
  for (const int t : extra(options.vary_threads, threads_in_force)) {
    const std::string label = "threads " + std::to_string(t);
    phases.push_back({Phase::Kind::kThreads, t, label,
                      "threads " + std::to_string(threads_in_force), label,
                      "traces/threads_" + std::to_string(t) + ".jsonl", run0.plans, t});
  }
  if (options.prefill_vs_decode) {
    phases.push_back(
        {Phase::Kind::kPrefill, 0, "prefill", "decode", "", "traces/prefill.jsonl", {}});
  }
  for (int t = 0; t < options.needle_trials; ++t) {
    phases.push_back(
        {Phase::Kind::kNeedle, t, "needle trial " + std::to_string(t),
         label_batch(options.batch_size),
         "needle trial " + std::to_string(t + 1) + " of " + std::to_string(options.needle_trials),
         "traces/needle_" + std::to_string(t) + ".jsonl",
         plan_needles(requests, t, options.needle_max_batch_size, seed)});
  }
  return phases;
}

std::vector<int> values_of(const std::vector<Phase>& phases, Phase::Kind kind) {
  std::vector<int> values;
  for (const Phase& phase : phases) {
    if (phase.kind == kind) values.push_back(phase.value);
  }
  return values;
}

int largest_batch(const Phase& phase) {
  size_t largest = 0;
  for (const BatchPlan& plan : phase.plans) largest = std::max(largest, plan.slots.size());
  return static_cast<int>(largest);
}

int largest_batch(const std::vector<Phase>& phases) {
  int largest = 0;
  for (const Phase& phase : phases) largest = std::max(largest, largest_batch(phase));
  return largest;
}

}  // namespace detllm::internal
