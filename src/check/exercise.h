// Internal: what a check's phases can really exercise on a model. A phase
// that varies something the model never sees (a batch a client sends one
// request at a time, this process's threads for a model on a server) proves
// nothing, and a PASS must not claim it.
#ifndef DETLLM_SRC_CHECK_EXERCISE_H_
#define DETLLM_SRC_CHECK_EXERCISE_H_

#include <string>
#include <vector>

#include "check/check_run.h"
#include "check/phases.h"
#include "detllm_test/generator.h"

namespace detllm::internal {

struct Unexercised {
  std::string why;  // one sentence, naming the phase
  // No mode makes it meaningful (thread counts for a server): always
  // UNSUPPORTED_REQUEST. Otherwise strict mode fails and best-effort says so.
  bool always_unsupported = false;
};

// The phases of `phases` that cannot exercise what they vary on a model
// described by `info`.
std::vector<Unexercised> unexercised_phases(const ModelInfo& info,
                                            const std::vector<Phase>& phases);

// After the phases ran: what the server said it ran each batch phase at
// (TraceRow::server_busy_slots, from llama.cpp's or vLLM's /metrics), one
// line per phase ("batch size 8: 6.4 busy slots per decode step"; the needle
// trials as one line; "unverified" where a server said nothing), and the
// batch phases it ran one request at a time.
struct ServedConcurrency {
  std::vector<std::string> measured;
  std::vector<Unexercised> serialized;
};
ServedConcurrency served_concurrency(const ModelInfo& info, CheckRun& run);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_EXERCISE_H_
