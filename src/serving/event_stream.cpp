// Server-sent events of a streamed completion, merged into one response. A
// stream comes from outside the harness: a chunk that does not fit the ones
// before it is an error, never a guess.
#include "serving/event_stream.h"

#include <nlohmann/json.hpp>
#include <string_view>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

using nlohmann::json;

// Appends the elements of `from[key]` (an array) to `to[key]`.
void append(json& to, const json& from, const char* key, const std::string& where) {
  const auto it = from.find(key);
  if (it == from.end() || it->is_null()) return;
  if (!it->is_array()) throw Error(where + ": logprobs." + key + " is not an array");
  json& into = to[key];
  if (into.is_null()) into = json::array();
  for (const json& value : *it) into.push_back(value);
}

// The text a chunk's choice adds: completions' "text", chat's delta.content.
std::string text_of(const json& choice, const std::string& where) {
  const json* text = nullptr;
  if (const auto it = choice.find("text"); it != choice.end()) {
    text = &*it;
  } else if (const auto delta = choice.find("delta"); delta != choice.end() && delta->is_object()) {
    if (const auto content = delta->find("content"); content != delta->end()) text = &*content;
  }
  if (text == nullptr || text->is_null()) return "";
  if (!text->is_string()) throw Error(where + ": a chunk's text is not a string");
  return text->get<std::string>();
}

}  // namespace

std::string merge_event_stream(const std::string& body, const std::string& where) {
  json merged = json::object();
  json logprobs;  // null until a chunk has some
  std::string text, finish_reason;
  bool done = false;
  size_t chunk_index = 0;
  std::string_view rest(body);
  while (!rest.empty() && !done) {
    const size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Comments (":"), event names and blank lines carry no chunk.
    if (line.substr(0, 5) != "data:") continue;
    std::string_view payload = line.substr(5);
    if (!payload.empty() && payload.front() == ' ') payload.remove_prefix(1);
    if (payload == "[DONE]") {
      done = true;
      break;
    }
    const std::string at = where + " (stream chunk " + std::to_string(chunk_index++) + ")";
    const json chunk = parse_json(payload);
    if (chunk.is_discarded() || !chunk.is_object()) {
      throw Error(at + " is not a JSON object: " + quote_text(std::string(payload), 60));
    }
    if (const auto error = chunk.find("error"); error != chunk.end() && !error->is_null()) {
      return chunk.dump();  // parse_completion names the error
    }
    for (const char* key : {"usage", "timings"}) {
      if (const auto it = chunk.find(key); it != chunk.end() && !it->is_null()) merged[key] = *it;
    }
    const auto choices = chunk.find("choices");
    if (choices == chunk.end() || !choices->is_array()) throw Error(at + " has no choices array");
    if (choices->empty()) continue;  // vLLM's last chunk: the usage alone
    if (choices->size() != 1) {
      throw Error(at + " holds " + std::to_string(choices->size()) + " choices; 1 was asked for");
    }
    const json& choice = (*choices)[0];
    if (!choice.is_object()) throw Error(at + ": choices[0] is not an object");
    text += text_of(choice, at);
    if (const auto reason = choice.find("finish_reason");
        reason != choice.end() && reason->is_string()) {
      finish_reason = reason->get<std::string>();
    }
    const auto chunk_logprobs = choice.find("logprobs");
    if (chunk_logprobs == choice.end() || chunk_logprobs->is_null()) continue;
    if (!chunk_logprobs->is_object()) throw Error(at + ": logprobs is not an object");
    const bool content = chunk_logprobs->contains("content");
    if (logprobs.is_null()) {
      logprobs = json::object();
      if (content) logprobs["content"] = json::array();
    } else if (content != logprobs.contains("content")) {
      throw Error(at + ": its logprobs are laid out unlike the chunks' before it");
    }
    if (content) {
      append(logprobs, *chunk_logprobs, "content", at);
    } else {
      const size_t before = logprobs.value("tokens", json::array()).size();
      for (const char* key : {"tokens", "token_logprobs", "top_logprobs"})
        append(logprobs, *chunk_logprobs, key, at);
      // A chunk without alternatives still has one entry per token, null,
      // so that the arrays stay parallel.
      const size_t added = logprobs.value("tokens", json::array()).size() - before;
      json& top = logprobs["top_logprobs"];
      if (top.is_null()) top = json::array();
      while (top.size() < before + added) top.push_back(nullptr);
    }
  }
  if (!done) {
    throw Error(where + ": the stream ended before its last event (data: [DONE]), after " +
                std::to_string(chunk_index) + " chunks");
  }
  json choice = {{"text", text}, {"logprobs", logprobs}};
  if (!finish_reason.empty()) choice["finish_reason"] = finish_reason;
  merged["choices"] = json::array({choice});
  return merged.dump();
}

}  // namespace detllm::internal
