// detllm::artifacts — golden files: what a blessed build produced for a set of
// prompts, kept in the repository and compared with every later build.
//
// A golden file is JSON Lines, keys sorted, one object per line, so that a
// change shows in code review as the lines that changed:
//   line 1   {"artifact_type": "golden", "settings": {...}, "model": {...}, ...}
//   line 2   the env snapshot it was recorded in (env.json's content)
//   then     optionally, per prompt, its op fingerprints (artifact_type
//            "golden_op_fingerprints"), for localising a later mismatch
//   then     one trace row per prompt (trace.h), in prompt order
// Because the lines before the rows carry an "artifact_type", TraceReader skips them:
// `detllm diff` takes a golden on either side. Schema:
// schemas/detllm-1.0/golden.json (the header); docs/release-gating.md.
#ifndef DETLLM_TEST_GOLDEN_H_
#define DETLLM_TEST_GOLDEN_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "detllm_test/diff.h"
#include "detllm_test/trace.h"

namespace detllm {

struct Golden {
  // How it was recorded: "tier", "batch_size", "seed" (int or null),
  // "threads", "decoding" {max_new_tokens, do_sample, temperature, top_p,
  // top_k}, "prompts" [{"index", "text" or null, "input_token_ids"}].
  nlohmann::json settings;
  // The model: "name", "backend", "dtype", "device", "tokenizer_id",
  // "files" [{"path", "sha256"}].
  nlohmann::json model;
  nlohmann::json env;  // the env snapshot of the recording
  // The model's own numeric noise, measured when it was recorded, for
  // Tolerance::Auto(): {"noise": nats, "measurements": [{"varied": "threads 2",
  // "max_abs_logprob_diff": ...}, ...], "positions": N}; null when not measured.
  nlohmann::json calibration;
  // Per prompt (in rows' order), per forward pass of its recording (the
  // prefill, then one per generated token): the fingerprints of the computing
  // ATen ops' outputs, space-separated (explain/localize.h). Empty when not
  // recorded (a callable model, explain off, or an older golden).
  std::vector<std::vector<std::string>> op_fingerprints;
  Trace rows;
};

// Reads a golden file. Throws detllm::Error naming the file (and line) when it
// does not exist, is not a golden (no header, another artifact type or major
// schema version), or has a malformed or truncated line.
Golden read_golden(const std::string& path);

// Writes `golden` to `path` atomically (a temporary file beside it, renamed),
// creating the parent directories. Throws detllm::Error if it cannot.
void write_golden(const std::string& path, const Golden& golden);

// What re-recording a golden changed, one line per item, for the person who
// blesses it: "new golden: 3 prompts", "unchanged", "prompt #1: generated
// token 4 changed (317 -> 257)", "prompt #0: logprobs changed from generated
// token 0", "settings changed: /decoding/max_new_tokens", "recorded in another
// environment: blas.library".
std::vector<std::string> golden_changes(const std::optional<Golden>& before, const Golden& after);

}  // namespace detllm

#endif  // DETLLM_TEST_GOLDEN_H_
