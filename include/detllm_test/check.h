// detllm::core — run() and check(): drive a model under the determinism controls, record
// traces, compare them and write the repro pack.
#ifndef DETLLM_TEST_CHECK_H_
#define DETLLM_TEST_CHECK_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "detllm_test/determinism.h"
#include "detllm_test/env.h"
#include "detllm_test/generator.h"
#include "detllm_test/prompt.h"
#include "detllm_test/report.h"
#include "detllm_test/trace.h"

namespace detllm {

// Where a long check is, for a progress display.
struct Progress {
  std::string phase;     // "run 2 of 5", "batch size 8", "needle trial 1"
  int prompts_done = 0;  // in this phase
  int prompts_total = 0;
  int64_t tokens_generated = 0;  // since the check began
  double seconds = 0;            // since the check began
};

// Options of a single run.
struct RunOptions {
  GenerationConfig decoding;
  // Prompts run in batches of this size; a batch with fewer prompts is filled
  // with seeded filler prompts of other lengths, so that a prompt really runs
  // beside others and is really padded.
  int batch_size = 1;
  DeterminismOptions determinism;
  EnvOptions env;
  // Root of the repro packs; each goes to <out_dir>/<run_id>/. Empty: no pack.
  // Left at "artifacts" inside a GoogleTest test (with detllm's environment,
  // which detllm_test_main registers): the test's artifact directory,
  // $DETLLM_ARTIFACTS_DIR/<Suite.Test>, and a check's (or check_golden's)
  // passing pack is kept only with DETLLM_KEEP_ARTIFACTS=1 — as the
  // assertions do.
  std::string out_dir = "artifacts";
  // One forward pass (the first prompt, one new token) under the controls before
  // the runs, so that an op of the model without a deterministic kernel stops
  // the check at once, named: "preflight forward pass failed: ... put_ has no
  // deterministic kernel ...". Off by default because it warms the model up: a
  // first call after loading that differs from later ones (cold start) would
  // then go unnoticed. Without it, run 0's first forward pass names the op the
  // same way.
  bool preflight = false;
  // Called after every batch; empty: no progress reports.
  std::function<void(const Progress&)> on_progress;
};

// Options of a check: repeated runs at `batch_size`, then one run at each of
// `vary_batch`, then the needle trials, each compared with the first run.
struct CheckOptions : RunOptions {
  int runs = 3;
  std::vector<int> vary_batch;
  // Needle mode, how serving systems really batch: in each trial every prompt
  // runs alone among seeded filler prompts of other lengths, at a seeded random
  // position in a batch of seeded random size from 2 to needle_max_batch_size.
  int needle_trials = 0;
  int needle_max_batch_size = 16;
  // Intra-op CPU thread counts to compare: one run at each (at batch_size),
  // compared with run 0 at determinism.threads. A float reduction split
  // across another number of threads rounds differently: THREAD_VARIANCE.
  std::vector<int> vary_threads;
  // Also score each prompt with its generated tokens (run 0's) in one forward
  // pass (Generator::score) and compare with the decoding: the argmax at each
  // position (tier 1) and the logprobs bitwise (tier 2). Greedy decoding only;
  // the model must be able to score (builtin, GPT-2, TorchScript, a callable
  // given a ScoreFunction). A difference is PREFILL_DECODE_MISMATCH.
  bool prefill_vs_decode = false;
  // False: the pack is written only when the check fails, so a passing check
  // creates no file (out_dir is still checked for being writable before the
  // runs). The assertions do this unless DETLLM_KEEP_ARTIFACTS=1.
  bool keep_passing_pack = true;
  // When the check fails, run the two diverging sides again for the prompt
  // concerned, up to the divergent token, observing every ATen op, and name
  // the first op whose output differs (Report::first_divergent_op): its name,
  // call index, layer, input shapes, max |Δ| and ULPs. libtorch models only.
  bool explain = true;
};

// What run() produced.
struct RunResult {
  Trace trace;
  DeterminismRecord determinism;
  std::string pack_dir;  // empty if no pack was written
};

// What check() produced.
struct CheckResult {
  Report report;
  std::vector<Trace> runs;             // at the baseline batch size
  std::map<int, Trace> batch_traces;   // one run per extra batch size
  std::vector<Trace> needle_traces;    // one per needle trial
  std::map<int, Trace> thread_traces;  // one run per extra thread count
  Trace prefill_trace;                 // prefill_vs_decode: run 0 rescored, argmax as the tokens
  DeterminismRecord determinism;
  std::string pack_dir;  // empty if no pack was written
  bool passed() const { return report.passed; }
};

// One run of `model` over `prompts`; writes env.json, run_config.json,
// determinism_applied.json and trace.jsonl. Throws detllm::Error for bad input
// (no prompts, an empty prompt, batch size 0, NaN logits, ...).
//
//   auto model = detllm::load_model("builtin:tiny");
//   auto result = detllm::run(*model, {"Hello"}, {});
RunResult run(Generator& model, const std::vector<Prompt>& prompts, const RunOptions& options);

// Runs `model` options.runs times and at every extra batch size, and compares:
//
//   detllm::CheckOptions options;
//   options.runs = 5;
//   options.vary_batch = {4, 16};
//   auto result = detllm::check(*model, prompts, options);
//   if (!result.passed()) std::cerr << result.report.headline();
//
// A failed check is a result, not an exception; exceptions are for bad input.
CheckResult check(Generator& model, const std::vector<Prompt>& prompts,
                  const CheckOptions& options);

}  // namespace detllm

#endif  // DETLLM_TEST_CHECK_H_
