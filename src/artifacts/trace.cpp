#include "detllm_test/trace.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "artifacts/sha256.h"
#include "detllm_test/error.h"

namespace detllm {

using nlohmann::json;

std::string token_ids_hash(const TokenIds& ids) { return internal::sha256_hex(json(ids).dump()); }

json to_json(const TraceRow& row) {
  json out = {
      {"prompt_id", row.prompt_id},
      {"input_token_ids", row.input_token_ids},
      {"input_token_ids_hash", row.input_token_ids_hash},
      {"generated_token_ids", row.generated_token_ids},
      {"scores", row.scores ? json(*row.scores) : json(nullptr)},
      {"tokenizer_id", row.tokenizer_id},
      {"decoding_max_new_tokens", row.decoding_max_new_tokens},
      {"decoding_do_sample", row.decoding_do_sample},
      {"decoding_temperature", row.decoding_temperature},
      {"decoding_top_p", row.decoding_top_p},
      {"decoding_top_k", row.decoding_top_k},
      {"prompt_index", row.prompt_index},
      {"batch_size", row.batch_size},
      {"batch_position", row.batch_position},
      {"logit_margins", row.logit_margins},
  };
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
  std::ofstream out(path, std::ios::binary);
  out << to_jsonl(trace);
  out.flush();
  if (!out) throw Error("cannot write trace '" + path + "'");
}

}  // namespace detllm
