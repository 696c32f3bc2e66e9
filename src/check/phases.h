// Internal: the phases of a check — each run at the baseline batch size, each
// extra batch size, thread count, the prefill pass, each needle trial —
// computed once from the options, so that running them, comparing them,
// writing the pack, replaying and localising all see the same batches.
#ifndef DETLLM_SRC_CHECK_PHASES_H_
#define DETLLM_SRC_CHECK_PHASES_H_

#include <optional>
#include <string>
#include <vector>

#include "check/batch_plan.h"
#include "detllm_test/check.h"
#include "detllm_test/internal/phase_kind.h"

namespace detllm::internal {

struct Phase {
  using Kind = PhaseKind;
  Kind kind = Kind::kRun;
  int value = 0;                 // the run, batch size, thread count or needle trial; 0 for prefill
  std::string label;             // this side in a divergence: "run 3", "batch size 4", "prefill"
  std::string left_label;        // run 0 named by what this phase varies: "batch size 1", "decode"
  std::string progress;          // "run 3 of 5"; empty for a phase that reports none
  std::string trace_file;        // in the pack: "traces/run_3.jsonl"
  std::vector<BatchPlan> plans;  // empty for prefill, which rescores run 0 in one pass
  int threads = 0;               // intra-op threads to run at; 0: as they are
  // Run 0 of a golden check with a tolerance: the golden's tokens scored
  // (teacher-forced: one pass per prompt, or a server's one request per
  // position) instead of generated.
  bool teacher_forced = false;
};

// A run's one phase (run() and golden checks): the prompts in order,
// batch_size at a time.
Phase run_phase(const RunOptions& options, size_t requests);

// A golden check's second phase: the golden file's rows, read, not run.
Phase golden_phase();

// Every phase of a check of `options` (already validated) over `requests`
// prompts, in the order they run: runs, batch sizes, thread counts (those
// other than `threads_in_force`), prefill, needle trials. Phase 0 is run 0,
// the side every other phase is compared with.
std::vector<Phase> check_phases(const CheckOptions& options, size_t requests, int threads_in_force);

// The values of the phases of `kind`, in order: the extra batch sizes, ...
std::vector<int> values_of(const std::vector<Phase>& phases, Phase::Kind kind);

// The largest batch a phase runs, and any of `phases`.
int largest_batch(const Phase& phase);
int largest_batch(const std::vector<Phase>& phases);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_PHASES_H_
