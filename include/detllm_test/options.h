// detllm::gtest — small named values that configure the determinism assertions:
//
//   EXPECT_REPEATABLE(model, prompts, detllm::Runs(5), detllm::Tier(2));
//   EXPECT_BATCH_INVARIANT(model, prompts, detllm::BatchSizes({1, 8, 32}));
//   EXPECT_BATCH_INVARIANT(model, prompts, detllm::Needle(8, /*max_batch_size=*/16));
//
// Any order; a later option of the same kind wins. Inside a DeterminismTest
// the fixture's determinism_options() are the defaults the options change; a
// whole CheckOptions is the base the other options change, wherever it is.
#ifndef DETLLM_TEST_OPTIONS_H_
#define DETLLM_TEST_OPTIONS_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "detllm_test/check.h"

namespace detllm {

// How many times to run (EXPECT_REPEATABLE: 3 by default; EXPECT_BATCH_INVARIANT: 1).
struct Runs {
  explicit Runs(int n) : value(n) {}
  int value;
};

// The batch size the runs use (default 1).
struct BatchSize {
  explicit BatchSize(int n) : value(n) {}
  int value;
};

// EXPECT_BATCH_INVARIANT: the batch sizes to compare; the first is the
// baseline. Default {1, 4, 16}.
struct BatchSizes {
  BatchSizes(std::initializer_list<int> sizes) : values(sizes) {}
  explicit BatchSizes(std::vector<int> sizes) : values(std::move(sizes)) {}
  std::vector<int> values;
};

// EXPECT_BATCH_INVARIANT: needle mode, `trials` times placing every prompt at a
// random position among filler prompts in a batch of random size up to
// `max_batch_size`, compared with batch size 1. Alone, it replaces the default
// batch sizes; with BatchSizes, both are checked.
struct Needle {
  explicit Needle(int trials, int max_batch_size = 16)
      : trials(trials), max_batch_size(max_batch_size) {}
  int trials;
  int max_batch_size;
};

// EXPECT_THREAD_INVARIANT: the intra-op CPU thread counts to compare; the
// first is the baseline. Default {1, 2, 4}.
struct ThreadCounts {
  ThreadCounts(std::initializer_list<int> counts) : values(counts) {}
  explicit ThreadCounts(std::vector<int> counts) : values(std::move(counts)) {}
  std::vector<int> values;
};

// The guarantee tier: 0 artifacts only, 1 tokens (default), 2 tokens and
// bitwise-equal logprobs.
struct Tier {
  explicit Tier(int t) : value(t) {}
  int value;
};

// Strict mode: a tier the backend cannot enforce fails as UNSUPPORTED_REQUEST.
struct Strict {};
// Best-effort mode (the default): such a tier is lowered and the reason recorded.
struct BestEffort {};

// The seed of libtorch's generators and of sampling (default 0).
struct Seed {
  explicit Seed(uint64_t s) : value(s) {}
  uint64_t value;
};

// Intra-op CPU threads during the check (default 1; 0 leaves them).
struct Threads {
  explicit Threads(int n) : value(n) {}
  int value;
};

// New tokens per prompt (default 16).
struct MaxNewTokens {
  explicit MaxNewTokens(int n) : value(n) {}
  int value;
};

// Each determinism control (determinism.h's DeterminismOptions), one option
// each; Determinism sets them all at once, as a fixture's
// determinism_options() does.
struct WarnOnly {
  explicit WarnOnly(bool on = true) : value(on) {}
  bool value;
};
struct DeterministicAlgorithms {
  explicit DeterministicAlgorithms(bool on = true) : value(on) {}
  bool value;
};
struct Tf32 {  // allow TF32 in float32 matmuls and convolutions (default off)
  explicit Tf32(bool on = true) : value(on) {}
  bool value;
};
struct SplitK {  // allow cuBLAS split-K in float16/bfloat16 GEMMs (default on)
  explicit SplitK(bool on = true) : value(on) {}
  bool value;
};
struct SdpaBackends {  // attention backends to allow, of math, flash, mem_efficient, cudnn
  SdpaBackends(std::initializer_list<std::string> names) : values(names) {}
  explicit SdpaBackends(std::vector<std::string> names) : values(std::move(names)) {}
  std::vector<std::string> values;
};
struct Determinism {
  explicit Determinism(DeterminismOptions o) : options(std::move(o)) {}
  DeterminismOptions options;
};

// Temperature as OpenAI's API, vLLM and transformers read it: 0 is greedy
// (the default), anything above 0 samples at that temperature, seeded by
// Seed. Top-p and top-k are kept as Decoding set them.
struct Temperature {
  explicit Temperature(double t) : value(t) {}
  double value;
};

// Every decoding setting at once (sampling, temperature, top-p, top-k, ...).
struct Decoding {
  explicit Decoding(GenerationConfig c) : config(std::move(c)) {}
  GenerationConfig config;
};

// A forward pass before the runs (RunOptions::preflight): an op of the model
// without a deterministic kernel fails the assertion at once, named. It warms
// the model up, so a cold first call is then not caught.
struct Preflight {};

// Whether a failing assertion names the first ATen op that diverged
// (CheckOptions::explain; default on): Explain(false) skips the re-runs.
struct Explain {
  explicit Explain(bool on) : value(on) {}
  bool value;
};

// EXPECT_MATCHES_GOLDEN at tier 2: logprobs within `n` float32 ULPs of the
// golden's count as equal, for a gate on tokens that still watches logprob
// drift (default 0: bitwise).
struct LogprobUlps {
  explicit LogprobUlps(int64_t n) : value(n) {}
  int64_t value;
};

namespace internal {
// Internal: applies one option to the check's options.
inline void apply(CheckOptions& o, const Runs& v) { o.runs = v.value; }
inline void apply(CheckOptions& o, const BatchSize& v) { o.batch_size = v.value; }
inline void apply(CheckOptions& o, const BatchSizes& v) {
  o.vary_batch = v.values;
  if (!v.values.empty()) o.batch_size = v.values.front();
}
inline void apply(CheckOptions& o, const ThreadCounts& v) {
  o.vary_threads = v.values;
  if (!v.values.empty()) o.determinism.threads = v.values.front();
}
inline void apply(CheckOptions& o, const Needle& v) {
  o.needle_trials = v.trials;
  o.needle_max_batch_size = v.max_batch_size;
}
inline void apply(CheckOptions& o, const Tier& v) { o.determinism.tier = v.value; }
inline void apply(CheckOptions& o, const Strict&) { o.determinism.mode = Mode::kStrict; }
inline void apply(CheckOptions& o, const BestEffort&) { o.determinism.mode = Mode::kBestEffort; }
inline void apply(CheckOptions& o, const Seed& v) {
  o.determinism.seed = v.value;
  o.decoding.seed = v.value;
}
inline void apply(CheckOptions& o, const Threads& v) { o.determinism.threads = v.value; }
inline void apply(CheckOptions& o, const MaxNewTokens& v) { o.decoding.max_new_tokens = v.value; }
inline void apply(CheckOptions& o, const Temperature& v) {
  // 0: greedy, recorded as greedy always was (temperature 1); a negative one
  // is sampling's, refused by the check as any bad temperature.
  o.decoding.do_sample = v.value != 0;
  o.decoding.temperature = v.value != 0 ? v.value : 1.0;
}
inline void apply(CheckOptions& o, const Decoding& v) { o.decoding = v.config; }
inline void apply(CheckOptions& o, const Preflight&) { o.preflight = true; }
inline void apply(CheckOptions& o, const Explain& v) { o.explain = v.value; }
inline void apply(CheckOptions& o, const WarnOnly& v) { o.determinism.warn_only = v.value; }
inline void apply(CheckOptions& o, const DeterministicAlgorithms& v) {
  o.determinism.deterministic_algorithms = v.value;
}
inline void apply(CheckOptions& o, const Tf32& v) { o.determinism.allow_tf32 = v.value; }
inline void apply(CheckOptions& o, const SplitK& v) { o.determinism.cublas_split_k = v.value; }
inline void apply(CheckOptions& o, const SdpaBackends& v) {
  o.determinism.sdpa_backends = v.values;
}
inline void apply(CheckOptions& o, const Determinism& v) { o.determinism = v.options; }
// A whole CheckOptions is the base (make_options applies it first).
inline void apply(CheckOptions&, const CheckOptions&) {}
inline void apply_base(CheckOptions& o, const CheckOptions& v) { o = v; }
template <typename Option>
void apply_base(CheckOptions&, const Option&) {}
}  // namespace internal

}  // namespace detllm

#endif  // DETLLM_TEST_OPTIONS_H_
