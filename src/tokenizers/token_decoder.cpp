// tokenizer.json's decoders, step by step as tokenizers applies them. What
// they do to text that is not valid UTF-8 matters: a decode of a prefix of a
// sequence cuts characters, and both sides must show the same replacement.
#include "tokenizers/token_decoder.h"

#include "artifacts/json_io.h"
#include "detllm_test/error.h"
#include "tokenizers/bpe.h"
#include "tokenizers/utf8.h"

namespace detllm::internal {
namespace {

using nlohmann::json;

// One code point of a field that tokenizers holds as a Rust char.
std::string char_field(const json& object, const char* key, const std::string& fallback,
                       const std::string& where) {
  const std::string value = string_field(object, key, fallback, where);
  if (decode_utf8(value).size() != 1) {
    throw Error(where + ": field '" + key + "' must be one character");
  }
  return value;
}

// "<0xNN>" -> NN, or -1 for any other token.
int fallback_byte(const std::string& token) {
  const auto hex = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  const int high = hex(token[3]), low = hex(token[4]);
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

// All tokens become one text: a token whose every character stands for a
// byte gives those bytes, any other (an added token such as "<|im_end|>" with
// characters outside the alphabet) its own UTF-8; the bytes are then read as
// UTF-8 with invalid sequences replaced.
void byte_level(std::vector<std::string>& tokens) {
  const ByteAlphabet& alphabet = byte_alphabet();
  std::string bytes;
  for (const std::string& token : tokens) {
    std::string mapped;
    bool every = true;
    for (const CodePoint& cp : decode_utf8(token)) {
      const auto found = alphabet.byte_of.find(cp.value);
      if (found == alphabet.byte_of.end()) {
        every = false;
        break;
      }
      mapped += static_cast<char>(found->second);
    }
    bytes += every ? mapped : token;
  }
  tokens = {utf8_lossy(bytes)};
}

// Runs of "<0xNN>" tokens become their bytes when those are valid UTF-8, and
// one U+FFFD per token otherwise.
void byte_fallback(std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  std::string bytes;
  size_t pending = 0;
  const auto flush = [&] {
    if (pending == 0) return;
    if (utf8_lossy(bytes) == bytes) {
      out.push_back(bytes);
    } else {
      for (size_t i = 0; i < pending; ++i) out.emplace_back("\xEF\xBF\xBD");
    }
    bytes.clear();
    pending = 0;
  };
  for (std::string& token : tokens) {
    const int byte = fallback_byte(token);
    if (byte >= 0) {
      bytes += static_cast<char>(byte);
      ++pending;
    } else {
      flush();
      out.push_back(std::move(token));
    }
  }
  flush();
  tokens = std::move(out);
}

}  // namespace

TokenDecoder::TokenDecoder(const json& section, const std::string& where) {
  if (section.is_null()) {
    join_with_spaces_ = true;
    return;
  }
  read(section, where);
}

TokenDecoder TokenDecoder::byte_level() {
  TokenDecoder decoder;
  decoder.steps_.emplace_back(&internal::byte_level);
  return decoder;
}

void TokenDecoder::read(const json& section, const std::string& where) {
  if (!section.is_object()) throw Error(where + " has a decoder that is not an object");
  const std::string type = string_field(section, "type", "", where + " decoder");
  const std::string here = where + " decoder " + type;
  if (type == "Sequence") {
    const json list = section.value("decoders", json());
    if (!list.is_array()) throw Error(where + " has a Sequence decoder without a decoders list");
    for (const json& each : list) read(each, where);
  } else if (type == "ByteLevel") {
    steps_.emplace_back(&internal::byte_level);
  } else if (type == "ByteFallback") {
    steps_.emplace_back(&byte_fallback);
  } else if (type == "Fuse") {
    steps_.emplace_back([](std::vector<std::string>& tokens) {
      std::string all;
      for (const std::string& token : tokens) all += token;
      tokens = {all};
    });
  } else if (type == "Replace") {
    const json pattern = section.value("pattern", json());
    if (!pattern.is_object() || !pattern.contains("String") || !pattern["String"].is_string()) {
      throw Error(where +
                  " has a Replace decoder whose pattern is not a String (Regex is not "
                  "supported)");
    }
    const std::string from = pattern["String"].get<std::string>();
    const std::string to = string_field(section, "content", "", here);
    steps_.emplace_back([from, to](std::vector<std::string>& tokens) {
      for (std::string& token : tokens) token = replace_all(token, from, to);
    });
  } else if (type == "Strip") {
    const std::string content = char_field(section, "content", " ", here);
    const int64_t start = integer_field(section, "start", 0, 0, 1 << 20, here);
    const int64_t stop = integer_field(section, "stop", 0, 0, 1 << 20, here);
    steps_.emplace_back([content, start, stop](std::vector<std::string>& tokens) {
      for (std::string& token : tokens) {
        const std::vector<CodePoint> cps = decode_utf8(token);
        const auto is_content = [&](const CodePoint& cp) {
          return token.compare(cp.begin, cp.end - cp.begin, content) == 0;
        };
        size_t first = 0, last = cps.size();
        while (first < cps.size() && first < static_cast<size_t>(start) && is_content(cps[first]))
          ++first;
        for (int64_t k = 0; k < stop && last > first && is_content(cps[last - 1]); ++k) --last;
        token = first == last
                    ? ""
                    : token.substr(cps[first].begin, cps[last - 1].end - cps[first].begin);
      }
    });
  } else if (type == "Metaspace") {
    const std::string replacement = char_field(section, "replacement", "\xe2\x96\x81", here);
    std::string scheme = string_field(section, "prepend_scheme", "", here);
    if (scheme.empty()) {  // older files: add_prefix_space
      scheme = bool_field(section, "add_prefix_space", true, here) ? "always" : "never";
    }
    if (scheme != "always" && scheme != "first" && scheme != "never") {
      throw Error(here + ": prepend_scheme " + quote_text(scheme) +
                  " is not always, first or never");
    }
    // The first token loses the replacement the pre-tokenizer prepended.
    const bool strip_first = scheme != "never";
    steps_.emplace_back([replacement, strip_first](std::vector<std::string>& tokens) {
      for (size_t i = 0; i < tokens.size(); ++i) {
        std::string& token = tokens[i];
        token = replace_all(token, replacement, " ");
        if (i == 0 && strip_first && !token.empty() && token[0] == ' ') token.erase(0, 1);
      }
    });
  } else {
    throw Error(where + " has decoder " + type +
                ", which is not supported (ByteLevel, Metaspace, Replace, ByteFallback, Fuse, "
                "Strip, Sequence)");
  }
}

std::string TokenDecoder::decode(std::vector<std::string> tokens) const {
  for (const Step& step : steps_) step(tokens);
  std::string text;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (join_with_spaces_ && i > 0) text += ' ';
    text += tokens[i];
  }
  return text;
}

}  // namespace detllm::internal
