// The bounds on a run's and a check's options. Beyond them a request is a
// typo or a runaway loop, not a test, and would allocate for minutes before
// failing; refusing it up front gives a one-line error instead.
#include "check/limits.h"

#include <algorithm>
#include <string>

#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

constexpr int kMaxBatchSize = 1024;
constexpr int kMaxNewTokens = 32768;
constexpr int kMaxRuns = 1000;
// Intra-op threads: more than the largest machines' hardware threads is a
// typo, or a crafted pack or golden asking for a million (each one a thread
// libtorch starts before the first op runs).
constexpr int kMaxThreads = 1024;

// The memory a batch needs grows with its token positions: batch size times
// (longest prompt + generated tokens), for every activation and the KV cache.
// Estimated before anything is allocated, so that a request beyond the bound
// is refused rather than left to exhaust the machine.
constexpr int64_t kMaxTokenPositions = int64_t{1} << 22;

// `where`: "" for batch_size, " in vary_batch", ...
void check_batch_size(int size, const char* where) {
  if (size < 1 || size > kMaxBatchSize) {
    throw Error("batch size " + std::to_string(size) + where +
                " is invalid: it must be from 1 to " + std::to_string(kMaxBatchSize));
  }
}

void check_threads(int threads, const char* where) {
  if (threads < 1 || threads > kMaxThreads) {
    throw Error("thread count " + std::to_string(threads) + where +
                " is invalid: it must be from 1 to " + std::to_string(kMaxThreads));
  }
}

}  // namespace

void validate_run(const std::vector<Prompt>& prompts, const RunOptions& options) {
  if (prompts.empty()) throw Error("no prompts: give at least one prompt");
  check_batch_size(options.batch_size, "");
  const GenerationConfig& d = options.decoding;
  if (d.max_new_tokens < 1 || d.max_new_tokens > kMaxNewTokens) {
    throw Error("max_new_tokens " + std::to_string(d.max_new_tokens) +
                " is invalid: it must be from 1 to " + std::to_string(kMaxNewTokens));
  }
  if (d.do_sample && !(d.temperature > 0)) throw Error("temperature must be > 0 when sampling");
  if (!(d.top_p > 0 && d.top_p <= 1)) throw Error("top_p must be in (0, 1]");
  if (d.top_k < 0) throw Error("top_k must be >= 0 (0 keeps every token)");
  // 0 leaves libtorch's count as it is.
  if (options.determinism.threads != 0) check_threads(options.determinism.threads, "");
  if (options.determinism.tier < 0 || options.determinism.tier > kMaxTier) {
    throw Error("tier " + std::to_string(options.determinism.tier) +
                " does not exist; use 0, 1 or 2");
  }
}

void validate_check(const std::vector<Prompt>& prompts, const CheckOptions& options) {
  validate_run(prompts, options);
  if (options.runs < 1 || options.runs > kMaxRuns) {
    throw Error("runs " + std::to_string(options.runs) + " is invalid: it must be from 1 to " +
                std::to_string(kMaxRuns));
  }
  if (options.needle_trials < 0 || options.needle_trials > kMaxRuns) {
    throw Error("needle_trials must be from 0 to " + std::to_string(kMaxRuns));
  }
  if (options.needle_trials > 0) {
    check_batch_size(options.needle_max_batch_size, " in needle_max_batch_size");
  }
  if (options.prefill_vs_decode && options.decoding.do_sample) {
    throw Error("prefill vs decode compares greedy decoding: it cannot be combined with sampling");
  }
  for (const int b : options.vary_batch) check_batch_size(b, " in vary_batch");
  for (const int t : options.vary_threads) check_threads(t, " in vary_threads");
}

void check_token_positions(const std::vector<Request>& requests, int batch_size,
                           const GenerationConfig& decoding) {
  size_t longest = 0;
  for (const Request& r : requests) longest = std::max(longest, r.ids.size());
  const int64_t positions =
      static_cast<int64_t>(batch_size) * (static_cast<int64_t>(longest) + decoding.max_new_tokens);
  if (positions > kMaxTokenPositions) {
    throw Error("a batch of " + std::to_string(batch_size) + " prompts of up to " +
                std::to_string(longest) + " tokens, generating " +
                std::to_string(decoding.max_new_tokens) + ", holds " + std::to_string(positions) +
                " token positions; at most " + std::to_string(kMaxTokenPositions) +
                " are supported (use a smaller batch size, or shorter prompts)");
  }
}

}  // namespace detllm::internal
