// JSON and text helpers shared by the artifact writers and readers: files read
// as JSON with errors that name them, typed fields, numbers as text.
#include "artifacts/json_io.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>

#include "artifacts/file_util.h"
#include "detllm_test/error.h"

namespace detllm::internal {

namespace {
struct TooDeep {};
}  // namespace

nlohmann::json parse_json(std::string_view text, std::string* why) {
  // The parser itself keeps its own stack; the callback sees each value's
  // depth as it opens and stops the parse before anything deep is built.
  const nlohmann::json::parser_callback_t bound = [](int depth, nlohmann::json::parse_event_t,
                                                     nlohmann::json&) {
    if (depth > kMaxJsonDepth) throw TooDeep{};
    return true;
  };
  try {
    return nlohmann::json::parse(text, bound);
  } catch (const TooDeep&) {
    if (why) *why = "it nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
  } catch (const nlohmann::json::exception& e) {  // parse_error; out_of_range for 1e999
    if (why) *why = e.what();
  }
  return nlohmann::json(nlohmann::json::value_t::discarded);
}

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  std::string why;
  nlohmann::json json = parse_json(read_file(path, what), &why);
  if (json.is_discarded()) throw Error(what + " '" + path + "' is not valid JSON: " + why);
  return json;
}

namespace {

[[noreturn]] void wrong_type(const std::string& where, const char* key, const char* expected,
                             const nlohmann::json& value) {
  std::string shown = dump(value);
  if (shown.size() > 40) shown = shown.substr(0, 40) + "…";
  throw Error(where + ": field '" + key + "' must be " + expected + ", not " + shown);
}

const nlohmann::json* present(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

}  // namespace

namespace {

// `value` as an integer in [min, max], if it is exactly one (a writer's 3.0
// too); nullopt for any other value.
std::optional<int64_t> exact_integer(const nlohmann::json& value, int64_t min, int64_t max) {
  std::optional<int64_t> n;
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() <= static_cast<uint64_t>(max)) n = value.get<int64_t>();
  } else if (value.is_number_integer()) {
    n = value.get<int64_t>();
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::trunc(d) == d && d >= -9.2e18 && d <= 9.2e18) n = static_cast<int64_t>(d);
  }
  if (n && (*n < min || *n > max)) n.reset();
  return n;
}

std::string integer_range(int64_t min, int64_t max) {
  return "from " + std::to_string(min) + " to " + std::to_string(max);
}

// A field whose JSON type `is` tells, read as T.
template <typename T>
T typed_field(const nlohmann::json& object, const char* key, T fallback, const std::string& where,
              bool (nlohmann::json::*is)() const noexcept, const char* expected) {
  const nlohmann::json* value = present(object, key);
  if (value == nullptr) return fallback;
  if (!(value->*is)()) wrong_type(where, key, expected, *value);
  return value->get<T>();
}

}  // namespace

int64_t integer_field(const nlohmann::json& object, const char* key, int64_t fallback, int64_t min,
                      int64_t max, const std::string& where) {
  const nlohmann::json* value = present(object, key);
  if (value == nullptr) return fallback;
  const std::optional<int64_t> n = exact_integer(*value, min, max);
  if (!n) wrong_type(where, key, ("an integer " + integer_range(min, max)).c_str(), *value);
  return *n;
}

double number_field(const nlohmann::json& object, const char* key, double fallback,
                    const std::string& where) {
  return typed_field(object, key, fallback, where, &nlohmann::json::is_number, "a number");
}

bool bool_field(const nlohmann::json& object, const char* key, bool fallback,
                const std::string& where) {
  return typed_field(object, key, fallback, where, &nlohmann::json::is_boolean, "true or false");
}

std::string string_field(const nlohmann::json& object, const char* key, const std::string& fallback,
                         const std::string& where) {
  return typed_field(object, key, fallback, where, &nlohmann::json::is_string, "a string");
}

std::vector<std::string> strings_field(const nlohmann::json& object, const char* key,
                                       const std::string& where) {
  const nlohmann::json* value = present(object, key);
  if (value == nullptr) return {};
  if (!value->is_array() ||
      !std::all_of(value->begin(), value->end(), [](const auto& v) { return v.is_string(); })) {
    wrong_type(where, key, "an array of strings", *value);
  }
  return value->get<std::vector<std::string>>();
}

std::vector<int> ints_field(const nlohmann::json& object, const char* key,
                            const std::string& where) {
  const nlohmann::json* value = present(object, key);
  if (value == nullptr) return {};
  const std::string expected = "an array of integers " + integer_range(INT32_MIN, INT32_MAX);
  if (!value->is_array()) wrong_type(where, key, expected.c_str(), *value);
  std::vector<int> out;
  for (const nlohmann::json& item : *value) {
    const std::optional<int64_t> n = exact_integer(item, INT32_MIN, INT32_MAX);
    if (!n) wrong_type(where, key, expected.c_str(), *value);
    out.push_back(static_cast<int>(*n));
  }
  return out;
}

std::string format_number(double value, const char* format) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string quote_text(const std::string& text, size_t max_bytes) {
  std::string shown = text.size() > max_bytes ? text.substr(0, max_bytes) : text;
  // JSON string escaping is exactly the one-line escaping a message wants.
  std::string quoted = dump(nlohmann::json(shown));
  if (text.size() > max_bytes) quoted.insert(quoted.size() - 1, "…");
  return quoted;
}

std::string printable(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c == '\n' || c == '\t') && keep_newlines) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      char escaped[8];  // C1 controls: U+0080..U+009F, CSI (U+009B) among them
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(text[++i]));
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace detllm::internal
