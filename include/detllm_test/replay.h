// detllm::core — running a repro pack's check again on this machine, and saying
// whether what the pack found reproduces.
//
//   detllm::ReplayResult r = detllm::replay("artifacts/MyTest/<run_id>");
//   if (r.outcome == detllm::ReplayOutcome::kVanished) ...  // the fix worked
//
// The pack's run_config.json holds what is needed: the prompts (text or ids),
// the model spec, device, dtype and file hashes, decoding, seeds, runs, batch
// sizes, needle trials, every determinism option and the batch composition;
// a golden comparison's pack also holds the golden. `detllm replay PACK_DIR`
// does the same from the command line (docs/release-gating.md).
#ifndef DETLLM_TEST_REPLAY_H_
#define DETLLM_TEST_REPLAY_H_

#include <string>
#include <vector>

#include "detllm_test/report.h"

namespace detllm {

enum class ReplayOutcome {
  kReproduced,  // the same category and the same first divergence (or PASS again)
  kDiffers,     // it fails now, otherwise than the pack says
  kVanished,    // the pack failed; it passes now
};
std::string to_string(ReplayOutcome outcome);  // "REPRODUCED", "DIFFERS", "VANISHED"

struct ReplayOptions {
  // Replays with this model instead of the pack's (a fixed build, or the
  // pack's model moved to another path); "" uses the spec the pack names.
  std::string model;
  std::string out_dir = "artifacts";  // the new pack, written when it fails
};

struct ReplayResult {
  ReplayOutcome outcome = ReplayOutcome::kReproduced;
  Report original;  // the pack's report
  Report now;       // the replay's
  // The model files whose SHA-256 differs from the pack's (or that are gone),
  // each as a sentence; the replay runs anyway.
  std::vector<std::string> model_changes;
  std::string pack_dir;  // the replay's own pack, if written
};

// Throws detllm::Error for a directory that is not a pack, a pack without
// what replay needs (written before replay existed, or by detLLM's Python
// tool), a callable model without `options.model`, or bad input as check() does.
ReplayResult replay(const std::string& pack_dir, const ReplayOptions& options = {});

}  // namespace detllm

#endif  // DETLLM_TEST_REPLAY_H_
