#include "internal/json_io.h"

#include <fstream>
#include <sstream>

#include "detllm_test/error.h"

namespace detllm::internal {

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot read " + what + " '" + path + "': file does not exist or is unreadable");
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return nlohmann::json::parse(buffer.str());
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
