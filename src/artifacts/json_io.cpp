#include "artifacts/json_io.h"

#include "artifacts/file_util.h"
#include "detllm_test/error.h"

namespace detllm::internal {

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  const std::string text = read_file(path, what);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(what + " '" + path + "' is not valid JSON: " + e.what());
  }
}

std::string quote_text(const std::string& text, size_t max_bytes) {
  std::string shown = text.size() > max_bytes ? text.substr(0, max_bytes) : text;
  // JSON string escaping is exactly the one-line escaping a message wants.
  std::string quoted = dump(nlohmann::json(shown));
  if (text.size() > max_bytes) quoted.insert(quoted.size() - 1, "…");
  return quoted;
}

}  // namespace detllm::internal
