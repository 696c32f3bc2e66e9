// Internal: the comparison table — every kind of comparison a check makes,
// declared once: the phases it compares, the trace they fill, the report
// finding and category, what it varies, its options (as run_config.json's
// replay block writes them), its assertion's defaults and claim. Adding a
// kind is an entry here and the code that runs its phases.
#ifndef DETLLM_SRC_CHECK_COMPARISONS_H_
#define DETLLM_SRC_CHECK_COMPARISONS_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "check/check_run.h"
#include "check/phases.h"
#include "detllm_test/check.h"

namespace detllm::internal {

struct Comparison {
  // What a phase of this kind varies: a model that cannot see it (a batch a
  // client sends one request at a time, this process's threads for a
  // server) exercises nothing (exercise.cpp).
  enum class Varies { kNothing, kBatch, kThreads };

  PhaseKind kind;
  // The report finding its divergence from run 0 fills, and the category it
  // fails as. With `scores_fail_as_category`, logprobs alone differing
  // (SCORE_VARIANCE) fail as `category` too: prefill vs decode, the golden.
  std::optional<Divergence> Report::*finding;
  Category category;
  bool scores_fail_as_category;
  // The golden: the phase is the reference (the left side), run 0 the right.
  bool phase_is_left;
  Varies varies;
  // The trace a phase of this kind fills (value: its run, batch size, ...).
  Trace& (*slot)(CheckRun& run, int value);
  // Its options in run_config.json's replay block, and read back from it
  // (older packs may lack the newer keys); nullptr: none.
  void (*write_options)(const CheckOptions& options, nlohmann::json& replay);
  void (*read_options)(const nlohmann::json& replay, CheckOptions& options);
  // Its assertion's defaults and the claim its message makes; nullptr for a
  // kind no assertion of its own checks (needles: EXPECT_BATCH_INVARIANT).
  void (*assertion_defaults)(CheckOptions& options);
  std::string (*claim)(const CheckOptions& options);
};

// In the order report.first_found() takes their findings.
const std::vector<Comparison>& comparisons();
const Comparison& comparison_of(PhaseKind kind);

// The trace a phase fills.
Trace& trace_of(CheckRun& run, const Phase& phase);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_COMPARISONS_H_
