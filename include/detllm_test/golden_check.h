// detllm::core — comparing a model's outputs with a golden file (golden.h), and
// recording one: the release gate against the last blessed build.
//
//   detllm::GoldenOptions options;
//   options.path = "golden/tiny.jsonl";
//   detllm::GoldenResult result = detllm::check_golden(*model, prompts, options);
//   if (!result.passed()) std::cerr << result.report.headline();
//
// In a test, use EXPECT_MATCHES_GOLDEN (assertions.h); on the command line,
// `detllm check --golden FILE` (docs/release-gating.md).
#ifndef DETLLM_TEST_GOLDEN_CHECK_H_
#define DETLLM_TEST_GOLDEN_CHECK_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "detllm_test/check.h"
#include "detllm_test/tolerance.h"

namespace detllm {

struct GoldenOptions {
  std::string path;  // the golden file
  // Environment capture, the pack's root (out_dir) and keep_passing_pack come
  // from here; so do the settings of a new golden (batch_size, decoding,
  // determinism.tier/seed/threads/mode). When comparing, the golden's
  // recorded settings replace those.
  CheckOptions base;
  // Applied last, over the golden's settings when comparing: what the caller
  // asked for explicitly (the assertions pass the options the test gave).
  std::function<void(CheckOptions&)> overrides;
  // Tier 2: logprobs within this many float32 ULPs of the golden's count as
  // equal (0: bitwise). At tier 1 only tokens are compared.
  int64_t logprob_ulps = 0;
  // exact (the default): one free run compared with the golden as above.
  // Otherwise the model scores the golden's own tokens (teacher forcing) and
  // each generated position is judged by the tolerance (tolerance.h);
  // auto takes it from the golden's calibration.
  Tolerance tolerance;
  // When recording: measure the model's own numeric noise for
  // Tolerance::Auto() (other thread counts and batch sizes, one-pass scoring)
  // and keep it in the golden's header. Costs one scoring pass per prompt per
  // thread count and one generation at another batch size.
  bool calibrate = true;
  // Record instead of comparing: write (or rewrite) the golden from this run.
  // Also when DETLLM_UPDATE_GOLDEN is "1" or "force". Refused (detllm::Error)
  // when the CI variable is set, unless `force` or DETLLM_UPDATE_GOLDEN=force,
  // so that a CI job can never bless its own outputs.
  bool update = false;
  bool force = false;
};

struct GoldenResult : CheckResult {
  bool recorded = false;             // the golden was written, not compared
  std::vector<std::string> changes;  // when recorded: what changed (golden_changes)
};

// True if DETLLM_UPDATE_GOLDEN asks for recording ("1" or "force").
bool golden_update_requested();

// Compares one run of `model` over `prompts`, under the golden's settings, with
// the golden: tokens (tier 1) and logprobs (tier 2). A difference is
// GOLDEN_MISMATCH, its first divergence names prompt, token, both sides'
// text, logprobs and margins, and the report names the environment fields
// that differ from the golden's recording as likely causes. With
// `base.explain` (the default) a golden of a libtorch model also records each
// prompt's op fingerprints, and a mismatch then names the first ATen op whose
// output differs from the golden's (Report::first_divergent_op). On failure the
// pack holds both sides: trace.jsonl and env.json of this run, golden.jsonl
// and golden_env.json. Throws detllm::Error for a missing or corrupt golden
// (naming how to record it) and for bad input as run() does.
GoldenResult check_golden(Generator& model, const std::vector<Prompt>& prompts,
                          const GoldenOptions& options);

}  // namespace detllm

#endif  // DETLLM_TEST_GOLDEN_CHECK_H_
