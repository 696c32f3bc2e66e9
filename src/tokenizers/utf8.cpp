// UTF-8 decoding and encoding by code point, lossy repair, and string replacement for the
// tokenizers.
#include "tokenizers/utf8.h"

namespace detllm::internal {

std::vector<CodePoint> decode_utf8(const std::string& text) {
  std::vector<CodePoint> out;
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  for (size_t i = 0; i < text.size();) {
    const unsigned char lead = byte(i);
    size_t length = lead < 0x80           ? 1
                    : (lead >> 5) == 0x6  ? 2
                    : (lead >> 4) == 0xE  ? 3
                    : (lead >> 3) == 0x1E ? 4
                                          : 0;
    char32_t value = length == 1   ? lead
                     : length == 2 ? lead & 0x1F
                     : length == 3 ? lead & 0x0F
                                   : lead & 0x07;
    bool valid = length != 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      valid = (byte(i + k) & 0xC0) == 0x80;
      value = (value << 6) | (byte(i + k) & 0x3F);
    }
    static const char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    valid = valid && value >= kSmallest[length] && value <= 0x10FFFF &&
            !(value >= 0xD800 && value <= 0xDFFF);
    if (!valid) {
      out.push_back({0xFFFD, i, i + 1});
      ++i;
    } else {
      out.push_back({value, i, i + length});
      i += length;
    }
  }
  return out;
}

CodePoint code_point_at(const std::string& text, size_t at) {
  CodePoint cp = decode_utf8(text.substr(at, 4)).front();
  return {cp.value, at + cp.begin, at + cp.end};
}

CodePoint code_point_before(const std::string& text, size_t at) {
  // A sequence is at most 4 bytes: back over continuation bytes to its lead.
  size_t begin = at - 1;
  while (begin > 0 && at - begin < 4 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) {
    --begin;
  }
  const CodePoint cp = decode_utf8(text.substr(begin, at - begin)).back();
  return {cp.value, begin + cp.begin, begin + cp.end};
}

std::string utf8_lossy(const std::string& bytes) {
  static const std::string kReplacement = "\xEF\xBF\xBD";
  std::string out;
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  for (size_t i = 0; i < bytes.size();) {
    const unsigned char lead = byte(i);
    if (lead < 0x80) {
      out += bytes[i++];
      continue;
    }
    // The sequence length and the range of its second byte (Unicode's table
    // of well-formed UTF-8: no overlong forms, surrogates or values past U+10FFFF).
    size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    }
    size_t valid = length == 0 ? 0 : 1;  // bytes of a well-formed prefix
    while (valid > 0 && valid < length && i + valid < bytes.size()) {
      const unsigned char next = byte(i + valid);
      if (valid == 1 ? (next < low || next > high) : (next < 0x80 || next > 0xBF)) break;
      ++valid;
    }
    if (length != 0 && valid == length) {
      out.append(bytes, i, length);
      i += length;
    } else {
      out += kReplacement;
      i += valid == 0 ? 1 : valid;
    }
  }
  return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::string encode_utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

}  // namespace detllm::internal
