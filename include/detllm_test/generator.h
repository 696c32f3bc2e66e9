// detllm::artifacts — the one interface the harness drives (header only, torch-free, so that
// detllm::serving implements it too): a batch of tokenized prompts in, generated tokens (and
// their log-probabilities) out.
#ifndef DETLLM_TEST_GENERATOR_H_
#define DETLLM_TEST_GENERATOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "detllm_test/tokenizer.h"

namespace detllm {

// How to decode. The defaults are greedy decoding of 16 new tokens with
// log-probabilities captured.
struct GenerationConfig {
  int max_new_tokens = 16;
  bool do_sample = false;  // false: greedy (argmax); true: seeded sampling
  double temperature = 1.0;
  double top_p = 1.0;  // nucleus sampling; 1.0 keeps every token
  int top_k = 0;       // 0 keeps every token
  uint64_t seed = 0;   // seeds each request's own sampling generator
  bool capture_logprobs = true;
  // Generation of a row stops after this token (it is kept in the output).
  // Unset, a row stops after any of the model's own stop tokens
  // (ModelInfo::eos_token_ids, from generation_config.json); set, after this one only.
  std::optional<int64_t> eos_token_id;
  // The model's own stop tokens are not applied (eos_token_id still is).
  bool ignore_eos = false;
};

// What one request produced.
struct Generation {
  TokenIds tokens;  // new tokens only
  // Log-probability (natural log, float32 log-softmax of the raw logits) of each
  // chosen token; empty when not captured or not available.
  std::vector<double> logprobs;
  // Top-1 minus top-2 logit at each step; a small value marks a near-tie, where
  // tiny numeric noise can flip the choice. Empty when not available.
  std::vector<double> logit_margins;
  // A served model: how many of the prompt's tokens the server took from its
  // prompt cache, as it says (usage.prompt_tokens_details.cached_tokens,
  // llama.cpp's timings.cache_n); -1 where it says nothing.
  int cached_prompt_tokens = -1;
  // A served model: the slots its server had busy per decode step, on
  // average, while it ran this request's batch (llama.cpp's /metrics); about
  // 1 means it ran the batch one request at a time. -1 where it does not say.
  double server_busy_slots = -1;
  // A served model: its server is another process than the one that ran the
  // batch before (its /metrics counters went back: it restarted in between).
  bool server_restarted = false;
};

// What a model assigns, in one forward pass over a whole sequence (no cache),
// to each token after the prompt: the float32 log-softmax logprob of that
// token, the argmax the model predicts at its position from the tokens before
// it, and the top-1 minus top-2 logit there.
struct SequenceScores {
  TokenIds argmax;
  std::vector<double> logprobs;
  std::vector<double> logit_margins;
};

// What a model can honour. The harness claims a guarantee tier only where these
// allow it (see determinism.h).
struct Capabilities {
  bool logprobs = true;          // per-token log-probabilities are available
  bool honours_controls = true;  // the libtorch determinism controls govern it
  // Why the op recorder cannot name the first ATen op whose output differs
  // between two runs ("a callable model's ops are its own", compiled kernels),
  // or "" when it can: its forward runs ATen ops on the calling thread.
  std::string ops_unobservable;
  // Requests the model runs at once, when it bounds them (a served model's
  // ?max_concurrency=N); 0: a batch is run as one. A batch larger than this
  // is never seen as a batch by the server, so a check does not claim it.
  int max_concurrent_requests = 0;
};

// A file a model was loaded from, with its SHA-256 (hex).
struct ModelFile {
  std::string path;
  std::string sha256;
};

// How a model describes itself in run_config.json.
struct ModelInfo {
  std::string name;         // e.g. "builtin:tiny", a file path, "callable:my-engine"
  std::string backend;      // "builtin", "torchscript", "callable"
  std::string file;         // the model file, if any
  std::string file_sha256;  // SHA-256 hex of the file, if any
  // Every file the model was loaded from (weights, config, tokenizer), if any.
  std::vector<ModelFile> files;
  std::string dtype = "float32";
  std::string device = "cpu";
  int64_t vocab_size = 0;
  // Tokens that end generation unless GenerationConfig says otherwise
  // (generation_config.json's eos_token_id for a checkpoint).
  std::vector<int64_t> eos_token_ids;
  Capabilities capabilities;
  // A model served elsewhere (openai_model): the server's URL without
  // credentials, and what the server says about itself as JSON text
  // (/v1/models, /version or /props, the request options), for run_config.json
  // and env.json. Both "" for a model in this process. Such a model is not
  // governed by this process's controls, but its tiers still hold: they are
  // asserted on what the server returns (docs/serving.md#tiers).
  std::string server_url;
  std::string server_json;
};

// A model the harness can run. Implementations must be callable repeatedly on the
// same object, as a server reuses it: state that leaks from one call into the
// next is exactly the kind of nondeterminism the harness exists to catch.
//
// `generate` receives a batch of non-empty token sequences (of any lengths; the
// model pads them itself) and returns one Generation per sequence, in order.
// Errors are reported by throwing detllm::Error.
class Generator {
 public:
  virtual ~Generator() = default;
  virtual ModelInfo info() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;
  virtual std::vector<Generation> generate(const std::vector<TokenIds>& batch,
                                           const GenerationConfig& config) = 0;
  // Scores `sequence` (a prompt of `prompt_length` tokens and what followed)
  // in one forward pass, for comparing incremental decoding with it
  // (EXPECT_PREFILL_MATCHES_DECODE). A model that cannot returns nullopt.
  virtual std::optional<SequenceScores> score(const TokenIds& /*sequence*/,
                                              size_t /*prompt_length*/) {
    return std::nullopt;
  }
  // The same for a teacher-forced golden comparison, however the model can:
  // score() where it scores in one pass; a server answers one request per
  // position (each prefix, one greedy token), where the logprob of a golden
  // token that is not its top-1 is unknown (NaN).
  virtual std::optional<SequenceScores> teacher_force(const TokenIds& sequence,
                                                      size_t prompt_length) {
    return score(sequence, prompt_length);
  }
  // Empties the caches that carry state from one request into the next (a
  // server's prefix cache), so that a check's run 0 starts cold and the runs
  // after it can reuse what run 0 left: a cache that changes outputs is then
  // RUN_VARIANCE with a cold start. Returns what was done, for the report
  // ("POST /reset_prefix_cache"), or "" when there is nothing to reset.
  virtual std::string reset_caches() { return ""; }
};

}  // namespace detllm

#endif  // DETLLM_TEST_GENERATOR_H_
