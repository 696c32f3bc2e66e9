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
//
// A pack is untrusted input (docs/reliability.md#trust): it arrives as a CI
// artifact, from a fork's pull request too. So replay runs the pack's model
// only where that runs no code of the pack's and sends no secret: a built-in
// model, or the pack's server contacted without any credential. A local model
// file (.pt2 and .pt run code when loaded; a checkpoint directory is parsed)
// is loaded only when you name it (`ReplayOptions::model`) or trust the pack
// (`trust_pack_model`); an API key is sent only to a server you name, from a
// variable you name (`api_key_env`).
#ifndef DETLLM_TEST_REPLAY_H_
#define DETLLM_TEST_REPLAY_H_

#include <functional>
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
  // pack's model moved to another path); "" uses the spec the pack names,
  // within the limits above.
  std::string model;
  // With a server URL as `model`: the variable holding its API key ("" sends
  // none unless the URL you gave says ?api_key_env=VAR, or OPENAI_API_KEY is
  // set, as for `detllm check --model URL`). Refused without `model`: a key
  // never goes to a host a pack names.
  std::string api_key_env;
  // Load the local model file or directory the pack names (its .pt2 or .pt
  // runs code when loaded): only for a pack you made or reviewed.
  bool trust_pack_model = false;
  std::string out_dir = "artifacts";  // the new pack, written when it fails
  // Called once, before any model is loaded or server contacted, with one
  // line saying which and why ("the pack's model builtin:tiny (built in)").
  std::function<void(const std::string&)> announce;
};

struct ReplayResult {
  ReplayOutcome outcome = ReplayOutcome::kReproduced;
  Report original;  // the pack's report
  Report now;       // the replay's
  // The model files whose SHA-256 differs from the pack's (or that are gone),
  // each as a sentence; the replay runs anyway.
  std::vector<std::string> model_changes;
  std::string pack_dir;      // the replay's own pack, if written
  std::string model_source;  // what `announce` was told: the model and where it came from
};

// Throws detllm::Error for a directory that is not a pack, a pack without
// what replay needs (written before replay existed, or by detLLM's Python
// tool), a callable model without `options.model`, a local model of the pack
// without `model` or `trust_pack_model`, `api_key_env` without `model`, a
// file the pack names through a symlink out of it, or bad input as check()
// does (a count beyond the command line's bounds, too).
ReplayResult replay(const std::string& pack_dir, const ReplayOptions& options = {});

}  // namespace detllm

#endif  // DETLLM_TEST_REPLAY_H_
