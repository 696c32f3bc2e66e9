// The token trace: one row per prompt per run, stored as JSON Lines.
#ifndef DETLLM_TEST_TRACE_H_
#define DETLLM_TEST_TRACE_H_

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "detllm_test/tokenizer.h"

namespace detllm {

// One prompt's result in one run. The first block is detLLM's trace row; the
// second holds the fields this library adds (readers ignore unknown fields).
struct TraceRow {
  std::string prompt_id;  // SHA-256 hex of the prompt (prompt.h)
  TokenIds input_token_ids;
  std::string input_token_ids_hash;           // SHA-256 hex of the ids as compact JSON
  TokenIds generated_token_ids;               // new tokens only
  std::optional<std::vector<double>> scores;  // logprob per generated token
  std::string tokenizer_id;
  int decoding_max_new_tokens = 0;
  bool decoding_do_sample = false;
  double decoding_temperature = 1.0;
  double decoding_top_p = 1.0;
  int decoding_top_k = 0;

  int prompt_index = 0;               // position in the caller's prompt list
  int batch_size = 0;                 // size of the batch the prompt ran in
  int batch_position = 0;             // its row within that batch
  std::vector<double> logit_margins;  // top-1 minus top-2 logit per step
};

using Trace = std::vector<TraceRow>;

// JSON conversion of one row (keys sorted). `row_from_json` throws
// detllm::Error naming the missing or mistyped field.
nlohmann::json to_json(const TraceRow& row);
TraceRow row_from_json(const nlohmann::json& json);

// SHA-256 hex of `ids` written as compact JSON, e.g. "[1,2,3]".
std::string token_ids_hash(const TokenIds& ids);

// The trace as JSON Lines (one row per line, ending with a newline).
std::string to_jsonl(const Trace& trace);

// Writes a trace to `path` (not atomically; packs are made atomic as a whole).
void write_trace(const std::string& path, const Trace& trace);

// Reads a JSON Lines trace. Throws detllm::Error naming the file and line for a
// missing file, malformed JSON, a truncated last line or a row without a
// required field; blank lines are skipped.
Trace read_trace(const std::string& path);

}  // namespace detllm

#endif  // DETLLM_TEST_TRACE_H_
