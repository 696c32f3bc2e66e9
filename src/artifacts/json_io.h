// Internal: JSON and text helpers shared by the artifact writers and readers.
#ifndef DETLLM_SRC_ARTIFACTS_JSON_IO_H_
#define DETLLM_SRC_ARTIFACTS_JSON_IO_H_

#include <climits>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace detllm::internal {

// Serializes `json`; invalid UTF-8 (a byte token cut from a multi-byte
// character) is replaced rather than thrown on. indent < 0: compact.
inline std::string dump(const nlohmann::json& json, int indent = -1) {
  return json.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// How deep JSON we read may nest. Every artifact, checkpoint file and server
// reply nests a few levels (a tokenizer.json's normalizers, fewer than 10);
// a crafted file nested 150,000 deep parses, then overflows the stack when
// copied, compared or printed back in an error.
inline constexpr int kMaxJsonDepth = 128;

// `text` parsed as JSON, or a discarded value (is_discarded()) for malformed
// JSON or JSON nested deeper than kMaxJsonDepth; then `*why`, if given, says
// which in one line. Every parser of input we did not write goes through it.
nlohmann::json parse_json(std::string_view text, std::string* why = nullptr);

// Parses the JSON file at `path`; throws detllm::Error naming `what` and the
// file for a missing file or malformed JSON.
nlohmann::json read_json_file(const std::string& path, const std::string& what);

// An object's optional fields, read strictly: a missing or null field gives
// `fallback`; a value of another type, or a number the field's type cannot
// hold exactly (3e83 for an int, 1.9 for a count), throws detllm::Error
// "<where>: field '<key>' must be ..., not <value>". nlohmann's value()
// would convert, truncate or throw its own exception instead.
int64_t integer_field(const nlohmann::json& object, const char* key, int64_t fallback, int64_t min,
                      int64_t max, const std::string& where);
inline int int_field(const nlohmann::json& object, const char* key, int fallback,
                     const std::string& where) {
  return static_cast<int>(integer_field(object, key, fallback, INT32_MIN, INT32_MAX, where));
}
double number_field(const nlohmann::json& object, const char* key, double fallback,
                    const std::string& where);
bool bool_field(const nlohmann::json& object, const char* key, bool fallback,
                const std::string& where);
std::string string_field(const nlohmann::json& object, const char* key, const std::string& fallback,
                         const std::string& where);
std::vector<std::string> strings_field(const nlohmann::json& object, const char* key,
                                       const std::string& where);
std::vector<int> ints_field(const nlohmann::json& object, const char* key,
                            const std::string& where);

// `value` printed with a printf format ("%.3g" by default) for a message or
// a report line.
std::string format_number(double value, const char* format = "%.3g");

// `text` as a double-quoted, escaped string for a one-line message:
// quote_text("a\nb") == "\"a\\nb\"". Longer than `max_bytes` is elided.
std::string quote_text(const std::string& text, size_t max_bytes = 60);

// `text` safe to print on a terminal: every control character (C0, DEL, and
// C1 written as UTF-8) is written as an escape ("\x1b", "\u009b"), so that a
// string read from a file or a server cannot clear the screen, move the
// cursor or overwrite a FAIL with a PASS. `keep_newlines` keeps '\n' and '\t'
// (a whole rendered text); without it they are escaped too ("\n"), for one
// field that must stay on its line.
std::string printable(std::string_view text, bool keep_newlines = false);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_ARTIFACTS_JSON_IO_H_
