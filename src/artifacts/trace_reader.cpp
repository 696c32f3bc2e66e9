// The one JSON Lines trace reader: streams rows with simdjson, a buffer at a
// time, so memory stays flat whatever the file's size.
#include <simdjson.h>

#include <string_view>
#include <type_traits>
#include <variant>

#include "artifacts/line_reader.h"
#include "detllm_test/error.h"
#include "detllm_test/trace.h"

namespace detllm {

namespace {

// The DOM parser dispatches at run time to the best kernels of the CPU
// (haswell, icelake...); On Demand would be fixed at compile time to the
// baseline x86-64 ISA Debian builds for.
namespace dom = simdjson::dom;

static_assert(internal::LineReader::kPadding >= simdjson::SIMDJSON_PADDING);

// Thrown inside the reader with a field-level message; next() adds file and line.
struct BadRow {
  std::string message;
};

[[noreturn]] void bad(std::string message) { throw BadRow{std::move(message)}; }

const char* type_name(dom::element value) {
  switch (value.type()) {
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
      return "an integer out of range";
    case dom::element_type::DOUBLE:
      return "a number with a fraction or an exponent";  // 1.9, 1e27
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

// The value as JSON for a message, e.g. "1e+27" (at most 40 characters).
std::string shown(dom::element value) { return simdjson::minify(value).substr(0, 40); }

[[noreturn]] void wrong_type(std::string_view key, const char* expected, dom::element value) {
  bad("field '" + std::string(key) + "' must be " + expected + ", not " + type_name(value) + " (" +
      shown(value) + ")");
}

std::string read_string(dom::element value, std::string_view key) {
  std::string_view text;
  if (value.get(text)) wrong_type(key, "a string", value);
  return std::string(text);
}

int read_int32(dom::element value, std::string_view key) {
  int64_t number = 0;
  if (value.get(number) || number < INT32_MIN || number > INT32_MAX) {
    wrong_type(key, "a 32-bit integer", value);
  }
  return static_cast<int>(number);
}

double read_double(dom::element value, std::string_view key) {
  double number = 0;
  if (value.get(number)) wrong_type(key, "a number", value);
  return number;
}

bool read_bool(dom::element value, std::string_view key) {
  bool flag = false;
  if (value.get(flag)) wrong_type(key, "true or false", value);
  return flag;
}

dom::array read_array(dom::element value, std::string_view key) {
  dom::array array;
  if (value.get(array)) wrong_type(key, "an array", value);
  return array;
}

// Token ids: integers only. 1.9, 1e27 or "5" are bad input, never cast.
void read_ids(dom::element value, std::string_view key, TokenIds& into) {
  const dom::array array = read_array(value, key);
  into.resize(array.size());
  size_t i = 0;
  for (dom::element item : array) {
    if (item.get(into[i])) {
      bad("field '" + std::string(key) + "' item " + std::to_string(i) +
          " must be an integer token id, not " + type_name(item) + " (" + shown(item) + ")");
    }
    ++i;
  }
}

void read_numbers(dom::element value, std::string_view key, std::vector<double>& into) {
  const dom::array array = read_array(value, key);
  into.resize(array.size());
  size_t i = 0;
  for (dom::element item : array) {
    if (item.get(into[i])) {
      bad("field '" + std::string(key) + "' item " + std::to_string(i) + " must be a number, not " +
          type_name(item) + " (" + shown(item) + ")");
    }
    ++i;
  }
}

// Fills `row` from one parsed line, reusing its vectors' storage. Unknown
// fields are skipped (schema 1.0: readers ignore what they do not know); null
// is the same as absent.
void read_row(dom::element document, TraceRow& row) {
  dom::object object;
  if (document.get(object))
    bad(std::string("a trace row must be a JSON object, not ") + type_name(document));
  // Every field back to its default, keeping the vectors' storage.
  static const TraceRow defaults;
  for (const TraceField& field : trace_fields()) {
    std::visit(
        [&](auto member) {
          auto& value = row.*member;
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, TokenIds> ||
                        std::is_same_v<T, std::vector<double>>) {
            value.clear();
          } else {
            value = defaults.*member;
          }
        },
        field.member);
  }
  row.fields_present = 0;
  uint64_t seen = 0;  // bit i: trace_fields()[i] was there
  const std::vector<TraceField>& fields = trace_fields();
  for (dom::key_value_pair pair : object) {
    const std::string_view key = pair.key;
    const dom::element value = pair.value;
    if (value.is_null()) continue;
    size_t i = 0;
    while (i < fields.size() && key != fields[i].key) ++i;
    if (i == fields.size()) continue;  // unknown: schema 1.0 readers ignore it
    seen |= uint64_t{1} << i;
    row.fields_present |= fields[i].presence;
    std::visit(
        [&](auto member) {
          auto& into = row.*member;
          using T = std::decay_t<decltype(into)>;
          if constexpr (std::is_same_v<T, std::string>) {
            into = read_string(value, key);
          } else if constexpr (std::is_same_v<T, TokenIds>) {
            read_ids(value, key, into);
          } else if constexpr (std::is_same_v<T, int>) {
            into = read_int32(value, key);
          } else if constexpr (std::is_same_v<T, bool>) {
            into = read_bool(value, key);
          } else if constexpr (std::is_same_v<T, double>) {
            into = read_double(value, key);
          } else if constexpr (std::is_same_v<T, std::vector<double>>) {
            read_numbers(value, key, into);
          } else {  // scores: absent (or null) stays nullopt
            if (!into) into.emplace();
            read_numbers(value, key, *into);
          }
        },
        fields[i].member);
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].required && !(seen & (uint64_t{1} << i))) {
      bad("missing required field '" + std::string(fields[i].key) + "'");
    }
  }
}

}  // namespace

struct TraceReader::Impl {
  explicit Impl(const std::string& path) : lines(path, "trace") {}
  internal::LineReader lines;
  dom::parser parser;
  int rows_read = 0;
};

TraceReader::TraceReader(const std::string& path) : impl_(std::make_unique<Impl>(path)) {}
TraceReader::~TraceReader() = default;
TraceReader::TraceReader(TraceReader&&) noexcept = default;

const std::string& TraceReader::path() const { return impl_->lines.path(); }
int TraceReader::line() const { return impl_->lines.line_number(); }

bool TraceReader::next(TraceRow& row) {
  std::string_view line;
  bool unterminated = false;
  if (!impl_->lines.next(line, unterminated)) return false;
  // A golden file's header lines (golden.h) carry an artifact_type; rows never do.
  while (impl_->rows_read == 0 && line.find("\"artifact_type\"") != std::string_view::npos) {
    dom::element header;
    dom::object fields;
    if (impl_->parser.parse(line.data(), line.size(), false).get(header) ||
        header.get_object().get(fields) || fields["artifact_type"].error()) {
      break;  // not a header: parsed and reported as a row below
    }
    if (!impl_->lines.next(line, unterminated)) return false;
  }
  ++impl_->rows_read;
  dom::element document;
  // LineReader leaves kPadding readable bytes after the line, as simdjson needs.
  if (auto error = impl_->parser.parse(line.data(), line.size(), /*realloc_if_needed=*/false)
                       .get(document)) {
    throw Error(
        impl_->lines.where() +
        (unterminated ? " is truncated (no complete JSON object): " : " is not valid JSON: ") +
        simdjson::error_message(error));
  }
  try {
    read_row(document, row);
  } catch (const BadRow& e) {
    throw Error(impl_->lines.where() + ": " + e.message);
  }
  return true;
}

Trace read_trace(const std::string& path) {
  TraceReader reader(path);
  Trace trace;
  TraceRow row;
  while (reader.next(row)) trace.push_back(std::move(row));
  return trace;
}

}  // namespace detllm
