// detllm::artifacts — the token trace: one row per prompt per run, stored as
// JSON Lines, written whole and read back a row at a time.
#ifndef DETLLM_TEST_TRACE_H_
#define DETLLM_TEST_TRACE_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <variant>
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
  // A served model's prompt tokens taken from its prompt cache, as the server
  // said (Generation::cached_prompt_tokens); -1: not said. Evidence, never
  // compared: a warm run is told from a cold one by it.
  int cached_prompt_tokens = -1;
  // Its batch's concurrency as the server said (Generation::server_busy_slots);
  // -1: not said. Evidence, never compared.
  double server_busy_slots = -1;
  // The server restarted between the batch before and this row's
  // (Generation::server_restarted). Evidence, never compared.
  bool server_restarted = false;

  // Which of detLLM's optional fields the row had when it was read (rows made
  // here have all): the diff compares them as detLLM does, absent only equal
  // to absent.
  enum Field : uint32_t {
    kInputTokenIds = 1u << 0,
    kInputTokenIdsHash = 1u << 1,
    kTokenizerId = 1u << 2,
    kMaxNewTokens = 1u << 3,
    kDoSample = 1u << 4,
    kTemperature = 1u << 5,
    kTopP = 1u << 6,
    kTopK = 1u << 7,
  };
  uint32_t fields_present = ~0u;
};

using Trace = std::vector<TraceRow>;

// Every field of a trace row, declared once: its JSON key and where it lives in
// TraceRow. The writer, the reader and the comparisons of whole rows walk this
// list, so that a field added to TraceRow and here is written, read and compared.
struct TraceField {
  using Member = std::variant<std::string TraceRow::*, TokenIds TraceRow::*, int TraceRow::*,
                              bool TraceRow::*, double TraceRow::*, std::vector<double> TraceRow::*,
                              std::optional<std::vector<double>> TraceRow::*>;
  const char* key;
  Member member;
  uint32_t presence;  // the TraceRow::Field bit set when the row has it; 0: none kept
  bool required;      // a row without it is malformed
};
const std::vector<TraceField>& trace_fields();

// JSON conversion of one row (keys sorted).
nlohmann::json to_json(const TraceRow& row);

// SHA-256 hex of `ids` written as compact JSON, e.g. "[1,2,3]".
std::string token_ids_hash(const TokenIds& ids);

// The trace as JSON Lines (one row per line, ending with a newline).
std::string to_jsonl(const Trace& trace);

// Writes a trace to `path`, replacing the file only when the new one is
// complete (a failed write says why and keeps the old one).
void write_trace(const std::string& path, const Trace& trace);

// Reads a JSON Lines trace a row at a time, in constant memory:
//
//   detllm::TraceReader reader("traces/run_0.jsonl");
//   detllm::TraceRow row;
//   while (reader.next(row)) { ... }
//
// Types are checked strictly: a token id must be a JSON integer (1.9, 1e27 and
// "5" are errors, never cast), `prompt_id` a string, and so on; unknown fields
// are ignored and null is the same as absent. next() throws detllm::Error
// naming the file and line for malformed JSON, a truncated last line, text
// after the object, or a missing or mistyped field; blank lines are skipped,
// and so are header lines before the first row (objects with an
// "artifact_type", as a golden file begins with), so a golden reads as a trace.
class TraceReader {
 public:
  // Throws detllm::Error if `path` cannot be opened.
  explicit TraceReader(const std::string& path);
  ~TraceReader();
  TraceReader(TraceReader&&) noexcept;

  // Reads the next row into `row` (reusing its storage); false at the end.
  bool next(TraceRow& row);
  const std::string& path() const;
  int line() const;  // the line of the row last read (1-based)

 private:
  struct Impl;  // internal: the file, its buffer and the JSON parser
  std::unique_ptr<Impl> impl_;
};

// Reads a whole JSON Lines trace with TraceReader.
Trace read_trace(const std::string& path);

}  // namespace detllm

#endif  // DETLLM_TEST_TRACE_H_
