// JSON and text helpers shared by the artifact writers and readers: files read
// as JSON with errors that name them, typed fields, numbers as text.
#include "artifacts/json_io.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <optional>

#include "artifacts/file_util.h"
#include "detllm_test/error.h"

namespace detllm::internal {

nlohmann::json read_json_file(const std::string& path, const std::string& what) {
  const std::string text = read_file(path, what);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error; out_of_range for 1e999
    throw Error(what + " '" + path + "' is not valid JSON: " + e.what());
  }
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

std::string quote_text(const std::string& text, size_t max_bytes) {
  std::string shown = text.size() > max_bytes ? text.substr(0, max_bytes) : text;
  // JSON string escaping is exactly the one-line escaping a message wants.
  std::string quoted = dump(nlohmann::json(shown));
  if (text.size() > max_bytes) quoted.insert(quoted.size() - 1, "…");
  return quoted;
}

}  // namespace detllm::internal
