#include "detllm_test/trace.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "detllm_test/error.h"
#include "internal/file_util.h"
#include "internal/sha256.h"

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

namespace {

// Reads `key` from `object` if present and not null; a wrong type is an error
// naming the field. Fields beyond detLLM's two required ones are optional.
template <typename T>
void read_field(const json& object, const char* key, T& into, bool required = false) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) throw Error(std::string("missing required field '") + key + "'");
    return;
  }
  try {
    into = it->get<T>();
  } catch (const json::exception&) {
    throw Error(std::string("field '") + key + "' has the wrong type (" + it->type_name() + ")");
  }
}

}  // namespace

TraceRow row_from_json(const json& object) {
  if (!object.is_object()) {
    throw Error(std::string("a trace row must be a JSON object, not ") + object.type_name());
  }
  TraceRow row;
  read_field(object, "prompt_id", row.prompt_id, /*required=*/true);
  read_field(object, "generated_token_ids", row.generated_token_ids, /*required=*/true);
  read_field(object, "input_token_ids", row.input_token_ids);
  read_field(object, "input_token_ids_hash", row.input_token_ids_hash);
  std::vector<double> scores;
  if (object.contains("scores") && !object["scores"].is_null()) {
    read_field(object, "scores", scores);
    row.scores = std::move(scores);
  }
  read_field(object, "tokenizer_id", row.tokenizer_id);
  read_field(object, "decoding_max_new_tokens", row.decoding_max_new_tokens);
  read_field(object, "decoding_do_sample", row.decoding_do_sample);
  read_field(object, "decoding_temperature", row.decoding_temperature);
  read_field(object, "decoding_top_p", row.decoding_top_p);
  read_field(object, "decoding_top_k", row.decoding_top_k);
  read_field(object, "prompt_index", row.prompt_index);
  read_field(object, "batch_size", row.batch_size);
  read_field(object, "batch_position", row.batch_position);
  read_field(object, "logit_margins", row.logit_margins);
  return row;
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

Trace read_trace(const std::string& path) {
  const std::string content = internal::read_file(path, "trace");

  Trace trace;
  size_t start = 0;
  int line_number = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    const bool last_line_unterminated = end == std::string::npos;
    if (last_line_unterminated) end = content.size();
    ++line_number;
    const std::string line = content.substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "trace '" + path + "' line " + std::to_string(line_number);
    json object;
    try {
      object = json::parse(line);
    } catch (const json::parse_error& e) {
      throw Error(where +
                  (last_line_unterminated ? " is truncated (no complete JSON object): "
                                          : " is not valid JSON: ") +
                  e.what());
    }
    try {
      trace.push_back(row_from_json(object));
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
  }
  return trace;
}

}  // namespace detllm
