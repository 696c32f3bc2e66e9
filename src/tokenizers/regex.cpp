// tokenizer.json's Split patterns through PCRE2, bounded.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizers/regex.h"

#include <pcre2.h>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

std::string message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

pcre2_code* compile(const std::string& pattern, uint32_t options, const std::string& where) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &error, &offset, nullptr);
  if (!code) {
    throw Error(where + ": pattern " + quote_text(pattern) + " does not compile at " +
                std::to_string(offset) + ": " + message(error));
  }
  return code;
}

}  // namespace

Regex::Regex(const std::string& pattern, const std::string& where) {
  valid_ = compile(pattern, PCRE2_UTF | PCRE2_UCP, where);
  try {
    invalid_ = compile(pattern, PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, where);
  } catch (...) {
    pcre2_code_free(valid_);
    throw;
  }
  pcre2_jit_compile(valid_, PCRE2_JIT_COMPLETE);  // when JIT is unavailable, interpreted
  context_ = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(context_, 1000000);
  pcre2_set_depth_limit(context_, 10000);
}

Regex::~Regex() {
  pcre2_match_context_free(context_);
  pcre2_code_free(invalid_);
  pcre2_code_free(valid_);
}

std::vector<std::pair<size_t, size_t>> Regex::find_all(const std::string& text) const {
  const pcre2_code* code = valid_;
  uint32_t options = 0;  // the first match checks the whole text's UTF-8
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(code, nullptr), &pcre2_match_data_free);
  std::vector<std::pair<size_t, size_t>> out;
  size_t from = 0;
  while (from < text.size()) {
    const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), from,
                               options, data.get(), context_);
    if (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21 && code == valid_) {
      code = invalid_;
      options = 0;
      continue;
    }
    if (code == valid_) options = PCRE2_NO_UTF_CHECK;
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw Error("tokenizer Split pattern failed: " + message(rc));
    const PCRE2_SIZE* range = pcre2_get_ovector_pointer(data.get());
    if (range[1] == range[0]) {  // an empty match: move on one code point
      size_t next = range[0] + 1;
      while (next < text.size() && (static_cast<unsigned char>(text[next]) & 0xC0) == 0x80) ++next;
      from = next;
      continue;
    }
    out.emplace_back(range[0], range[1]);
    from = range[1];
  }
  return out;
}

}  // namespace detllm::internal
