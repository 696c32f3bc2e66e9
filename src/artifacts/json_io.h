// Internal: JSON and text helpers shared by the artifact writers and readers.
#ifndef DETLLM_SRC_ARTIFACTS_JSON_IO_H_
#define DETLLM_SRC_ARTIFACTS_JSON_IO_H_

#include <nlohmann/json.hpp>
#include <string>

namespace detllm::internal {

// Serializes `json`; invalid UTF-8 (a byte token cut from a multi-byte
// character) is replaced rather than thrown on. indent < 0: compact.
inline std::string dump(const nlohmann::json& json, int indent = -1) {
  return json.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Parses the JSON file at `path`; throws detllm::Error naming `what` and the
// file for a missing file or malformed JSON.
nlohmann::json read_json_file(const std::string& path, const std::string& what);

// `text` as a double-quoted, escaped string for a one-line message:
// quote_text("a\nb") == "\"a\\nb\"". Longer than `max_bytes` is elided.
std::string quote_text(const std::string& text, size_t max_bytes = 60);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_ARTIFACTS_JSON_IO_H_
