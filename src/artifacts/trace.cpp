// Trace rows: the one list of their fields, JSON and JSON Lines.
#include "detllm_test/trace.h"

#include <nlohmann/json.hpp>
#include <type_traits>

#include "artifacts/file_util.h"
#include "artifacts/sha256.h"
#include "detllm_test/error.h"

namespace detllm {

using nlohmann::json;

std::string token_ids_hash(const TokenIds& ids) { return internal::sha256_hex(json(ids).dump()); }

const std::vector<TraceField>& trace_fields() {
  using R = TraceRow;
  static const std::vector<TraceField> fields = {
      // detLLM's row.
      {"prompt_id", &R::prompt_id, 0, true},
      {"input_token_ids", &R::input_token_ids, R::kInputTokenIds, false},
      {"input_token_ids_hash", &R::input_token_ids_hash, R::kInputTokenIdsHash, false},
      {"generated_token_ids", &R::generated_token_ids, 0, true},
      {"scores", &R::scores, 0, false},
      {"tokenizer_id", &R::tokenizer_id, R::kTokenizerId, false},
      {"decoding_max_new_tokens", &R::decoding_max_new_tokens, R::kMaxNewTokens, false},
      {"decoding_do_sample", &R::decoding_do_sample, R::kDoSample, false},
      {"decoding_temperature", &R::decoding_temperature, R::kTemperature, false},
      {"decoding_top_p", &R::decoding_top_p, R::kTopP, false},
      {"decoding_top_k", &R::decoding_top_k, R::kTopK, false},
      // Ours.
      {"prompt_index", &R::prompt_index, 0, false},
      {"batch_size", &R::batch_size, 0, false},
      {"batch_position", &R::batch_position, 0, false},
      {"logit_margins", &R::logit_margins, 0, false},
      {"cached_prompt_tokens", &R::cached_prompt_tokens, 0, false},
      {"server_busy_slots", &R::server_busy_slots, 0, false},
      {"server_restarted", &R::server_restarted, 0, false},
  };
  return fields;
}

json to_json(const TraceRow& row) {
  json out = json::object();
  for (const TraceField& field : trace_fields()) {
    std::visit(
        [&](auto member) {
          const auto& value = row.*member;
          if constexpr (std::is_same_v<std::decay_t<decltype(value)>,
                                       std::optional<std::vector<double>>>) {
            out[field.key] = value ? json(*value) : json(nullptr);
          } else {
            out[field.key] = value;
          }
        },
        field.member);
  }
  return out;
}

std::string to_jsonl(const Trace& trace) {
  std::string out;
  for (const TraceRow& row : trace) {
    out += to_json(row).dump();
    out += '\n';
  }
  return out;
}

void write_trace(const std::string& path, const Trace& trace) {
  internal::write_file_atomically(path, to_jsonl(trace), "trace");
}

}  // namespace detllm
