// /v1/completions responses. A server is outside the harness's control, so
// every field is checked before it becomes a trace: a PASS or FAIL built on a
// truncated or lying response would be worse than an error.
#include "serving/completion_response.h"

#include <algorithm>
#include <climits>
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

using nlohmann::json;

constexpr char kTokenIdPrefix[] = "token_id:";

const json& member(const json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) throw Error(where + " has no '" + key + "'");
  return *it;
}

double number(const json& value, const std::string& where) {
  // The type, not the value: dumping a deeply nested value would recurse.
  if (!value.is_number()) throw Error(where + " is " + value.type_name() + ", not a number");
  return value.get<double>();
}

std::string text_of(const json& value, const std::string& where) {
  if (!value.is_string()) throw Error(where + " is " + value.type_name() + ", not a string");
  return value.get<std::string>();
}

// vLLM's "token_id:123" (return_tokens_as_token_ids), or nullopt.
std::optional<int64_t> token_id_of(const std::string& token) {
  if (token.rfind(kTokenIdPrefix, 0) != 0) return std::nullopt;
  const std::string digits = token.substr(sizeof kTokenIdPrefix - 1);
  if (digits.empty() || digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(digits);
}

// The top-1 minus top-2 of some logprobs, or nullopt for fewer than two.
std::optional<double> margin_of(std::vector<double> values) {
  if (values.size() < 2) return std::nullopt;
  std::partial_sort(values.begin(), values.begin() + 2, values.end(), std::greater<>());
  return values[0] - values[1];
}

// {tokens, token_logprobs, top_logprobs}: parallel arrays.
void read_legacy(const json& logprobs, const std::string& where, Completion& c) {
  const json& tokens = member(logprobs, "tokens", where);
  const json& values = member(logprobs, "token_logprobs", where);
  if (!tokens.is_array() || !values.is_array()) {
    throw Error(where + ": tokens and token_logprobs must be arrays");
  }
  if (tokens.size() != values.size()) {
    throw Error(where + " has " + std::to_string(tokens.size()) + " tokens but " +
                std::to_string(values.size()) + " token_logprobs");
  }
  const auto top = logprobs.find("top_logprobs");
  const bool has_top = top != logprobs.end() && !top->is_null();
  if (has_top && (!top->is_array() || top->size() != tokens.size())) {
    throw Error(where + ": top_logprobs must be an array of " + std::to_string(tokens.size()) +
                " entries, one per token");
  }
  bool all_ids = !tokens.empty();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string at = where + " token " + std::to_string(i);
    c.token_texts.push_back(text_of(tokens[i], at));
    const std::optional<int64_t> id = token_id_of(c.token_texts.back());
    all_ids = all_ids && id.has_value();
    if (id) c.token_ids.push_back(*id);
    c.logprobs.push_back(number(values[i], at + "'s logprob"));
    if (!has_top) continue;
    const json& entry = (*top)[i];
    if (!entry.is_object() && !entry.is_null())
      throw Error(at + "'s top_logprobs is not an object");
    std::vector<double> alternatives;
    if (entry.is_object()) {
      for (const auto& [token, value] : entry.items()) {
        alternatives.push_back(number(value, at + "'s top_logprobs"));
      }
    }
    if (const auto m = margin_of(alternatives)) c.margins.push_back(*m);
  }
  if (!all_ids) c.token_ids.clear();
  if (c.margins.size() != c.token_texts.size()) c.margins.clear();
}

// {content: [{token, logprob, top_logprobs: [{token, logprob}], id?}]}.
void read_content(const json& content, const std::string& where, Completion& c) {
  if (!content.is_array()) throw Error(where + ": content must be an array");
  bool all_ids = !content.empty();
  for (size_t i = 0; i < content.size(); ++i) {
    const std::string at = where + " token " + std::to_string(i);
    const json& entry = content[i];
    if (!entry.is_object()) throw Error(at + " is not an object");
    c.token_texts.push_back(text_of(member(entry, "token", at), at + "'s token"));
    c.logprobs.push_back(number(member(entry, "logprob", at), at + "'s logprob"));
    // llama.cpp's "id", or vLLM's "token_id:N" token (return_tokens_as_token_ids).
    const auto id = entry.find("id");
    std::optional<int64_t> token_id = token_id_of(c.token_texts.back());
    if (id != entry.end() && id->is_number_integer()) token_id = id->get<int64_t>();
    all_ids = all_ids && token_id.has_value();
    if (all_ids) c.token_ids.push_back(*token_id);
    const auto top = entry.find("top_logprobs");
    if (top == entry.end() || top->is_null()) continue;
    if (!top->is_array()) throw Error(at + "'s top_logprobs is not an array");
    std::vector<double> alternatives;
    for (const json& alternative : *top) {
      if (!alternative.is_object()) throw Error(at + "'s top_logprobs holds a non-object");
      alternatives.push_back(number(member(alternative, "logprob", at), at + "'s top logprob"));
    }
    if (const auto m = margin_of(alternatives)) c.margins.push_back(*m);
  }
  if (!all_ids) c.token_ids.clear();
  if (c.margins.size() != c.token_texts.size()) c.margins.clear();
}

// What the server says it took from its prompt cache: a non-negative integer
// at one of the places servers write it, or -1.
int cached_prompt_tokens_of(const json& response) {
  for (const char* pointer : {"/usage/prompt_tokens_details/cached_tokens", "/timings/cache_n"}) {
    try {
      const json& n = response.at(json::json_pointer(pointer));
      if (n.is_number_integer() && n.get<int64_t>() >= 0 && n.get<int64_t>() <= INT32_MAX) {
        return static_cast<int>(n.get<int64_t>());
      }
    } catch (const json::exception&) {  // absent, or a parent of another type
    }
  }
  return -1;
}

}  // namespace

Completion parse_completion(const std::string& body, const std::string& where, bool want_logprobs) {
  const json response = internal::parse_json(body);
  if (response.is_discarded()) {
    throw Error(where + " is not valid JSON (" + std::to_string(body.size()) +
                " bytes: " + quote_text(body, 60) + ")");
  }
  if (!response.is_object()) throw Error(where + " is not a JSON object");
  if (const auto error = response.find("error"); error != response.end() && !error->is_null()) {
    const std::string message =
        error->is_string() ? error->get<std::string>()
        : error->is_object() && error->contains("message") && (*error)["message"].is_string()
            ? (*error)["message"].get<std::string>()
            : std::string("an error ") + error->type_name();
    throw Error(where + " is an error: " + quote_text(message, 200));
  }
  const json& choices = member(response, "choices", where);
  if (!choices.is_array() || choices.size() != 1) {
    throw Error(where + " holds " +
                (choices.is_array() ? std::to_string(choices.size()) : std::string("no array of")) +
                " choices; 1 was asked for");
  }
  const json& choice = choices[0];
  if (!choice.is_object()) throw Error(where + ": choices[0] is not an object");
  Completion c;
  if (const auto message = choice.find("message"); message != choice.end()) {
    // A chat completion: the assistant's message (content null: no text).
    if (!message->is_object()) throw Error(where + ": choices[0].message is not an object");
    const json& content = member(*message, "content", where + " choices[0].message");
    if (!content.is_null()) c.text = text_of(content, where + " choices[0].message.content");
  } else {
    c.text = text_of(member(choice, "text", where + " choices[0]"), where + " choices[0].text");
  }
  c.cached_prompt_tokens = cached_prompt_tokens_of(response);
  if (const auto reason = choice.find("finish_reason");
      reason != choice.end() && reason->is_string()) {
    c.finish_reason = reason->get<std::string>();
  }
  const auto logprobs = choice.find("logprobs");
  if (logprobs == choice.end() || logprobs->is_null()) {
    if (want_logprobs) {
      throw Error(where +
                  " has no logprobs (the server must support /v1/completions' "
                  "logprobs parameter: detllm reads the generated tokens from them)");
    }
    return c;
  }
  if (!logprobs->is_object()) throw Error(where + ": logprobs is not an object");
  const std::string at = where + " logprobs";
  if (logprobs->contains("content")) {
    read_content((*logprobs)["content"], at, c);
  } else {
    read_legacy(*logprobs, at, c);
  }
  return c;
}

}  // namespace detllm::internal
