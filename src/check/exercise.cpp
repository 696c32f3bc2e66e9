// What a check's phases can exercise on a model: batches larger than the
// requests a served model runs at once, and thread counts of this process for
// a model on a server, exercise nothing.
#include "check/exercise.h"

namespace detllm::internal {

std::vector<Unexercised> unexercised_phases(const ModelInfo& info,
                                            const std::vector<Phase>& phases) {
  std::vector<Unexercised> found;
  const int at_once = info.capabilities.max_concurrent_requests;
  for (const Phase& phase : phases) {
    if (phase.kind == Phase::kThreads && !info.server_url.empty()) {
      found.push_back({phase.label +
                           ": this process's intra-op thread count cannot reach a model "
                           "served at " +
                           info.server_url + " (its threads are the server's own)",
                       true});
    } else if ((phase.kind == Phase::kBatchSize || phase.kind == Phase::kNeedle) && at_once > 0 &&
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

}  // namespace detllm::internal
