// What a check's phases can exercise on a model: batches larger than the
// requests a served model runs at once, and thread counts of this process for
// a model on a server, exercise nothing.
#include "check/exercise.h"

#include <algorithm>
#include <cstdio>

#include "check/comparisons.h"

namespace detllm::internal {
namespace {

Comparison::Varies varies(const Phase& phase) { return comparison_of(phase.kind).varies; }

}  // namespace

std::vector<Unexercised> unexercised_phases(const ModelInfo& info,
                                            const std::vector<Phase>& phases) {
  std::vector<Unexercised> found;
  const int at_once = info.capabilities.max_concurrent_requests;
  for (const Phase& phase : phases) {
    if (varies(phase) == Comparison::Varies::kThreads && !info.server_url.empty()) {
      found.push_back({phase.label +
                           ": this process's intra-op thread count cannot reach a model "
                           "served at " +
                           info.server_url + " (its threads are the server's own)",
                       true});
    } else if (varies(phase) == Comparison::Varies::kBatch && at_once > 0 &&
               largest_batch(phase) > at_once) {
      found.push_back({phase.label + " was sent at most " + std::to_string(at_once) + " request" +
                           (at_once == 1 ? "" : "s") + " at a time (max_concurrency=" +
                           std::to_string(at_once) + "): the server never saw it as a batch of " +
                           std::to_string(largest_batch(phase)),
                       false});
    }
  }
  return found;
}

namespace {

std::string slots(double busy) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", busy);
  return text;
}

// A server that ran a batch one request at a time had exactly one slot busy
// at every decode step; any step its requests shared lifts the average above
// 1 (the gauge prints six digits), so only that is taken as serialized.
constexpr double kSerialized = 1.05;

}  // namespace

ServedConcurrency served_concurrency(const ModelInfo& info, CheckRun& run) {
  ServedConcurrency served;
  double needle_low = -1, needle_high = -1;
  for (const Phase& phase : run.phases) {
    if (varies(phase) != Comparison::Varies::kBatch || largest_batch(phase) < 2) continue;
    double busy = -1;
    for (const TraceRow& row : trace_of(run, phase)) busy = std::max(busy, row.server_busy_slots);
    if (busy < 0) {
      // llama-cpp-python's server, for one, runs every request alone and
      // says nothing: the batch is neither claimed nor denied.
      if (!info.server_url.empty() && phase.kind == Phase::Kind::kBatchSize) {
        served.measured.push_back(phase.label +
                                  ": unverified: the server reports no per-step concurrency "
                                  "(no /metrics step counters), so whether it ran the " +
                                  std::to_string(largest_batch(phase)) +
                                  " requests together or one at a time is unknown");
      }
      continue;
    }
    if (phase.kind == Phase::Kind::kNeedle) {
      needle_low = needle_low < 0 ? busy : std::min(needle_low, busy);
      needle_high = std::max(needle_high, busy);
    } else {
      served.measured.push_back(phase.label + ": " + slots(busy) +
                                " busy slots per decode step (the server's /metrics)");
    }
    if (busy < kSerialized) {
      served.serialized.push_back(
          {phase.label + " was run one request at a time by the server: " + slots(busy) +
               " busy slots per decode step (the server's /metrics), so no batch of " +
               std::to_string(largest_batch(phase)) + " was exercised",
           false});
    }
  }
  if (needle_high >= 0) {
    served.measured.push_back("needle trials: " + slots(needle_low) + " to " + slots(needle_high) +
                              " busy slots per decode step (the server's /metrics)");
  }
  return served;
}

}  // namespace detllm::internal
