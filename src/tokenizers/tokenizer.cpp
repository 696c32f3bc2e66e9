// GPT-2's byte-level BPE tokenizer (vocab.json + merges.txt).
#include "detllm_test/tokenizer.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <unordered_map>

#include "artifacts/file_util.h"
#include "artifacts/json_io.h"
#include "artifacts/sha256.h"
#include "detllm_test/error.h"
#include "tokenizers/bpe.h"
#include "tokenizers/pretokenizer.h"
#include "tokenizers/token_decoder.h"
#include "tokenizers/tokenizer_files.h"
#include "tokenizers/unicode_classes.h"
#include "tokenizers/utf8.h"

namespace detllm {
namespace internal {
namespace {

bool in_ranges(const CodePointRanges& table, char32_t c) {
  const CodePointRange* end = table.ranges + table.size;
  const CodePointRange* it =
      std::upper_bound(table.ranges, end, c,
                       [](char32_t value, const CodePointRange& r) { return value < r.first; });
  return it != table.ranges && c <= (it - 1)->last;
}

}  // namespace

bool is_letter(char32_t c) { return in_ranges(kUnicodeLetters, c); }
bool is_number(char32_t c) { return in_ranges(kUnicodeNumbers, c); }
bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

std::vector<std::string> gpt2_pretokenize(const std::string& text) {
  const std::vector<CodePoint> cps = decode_utf8(text);
  const size_t n = cps.size();
  const auto is_symbol = [](char32_t c) {
    return !is_whitespace(c) && !is_letter(c) && !is_number(c);
  };
  const auto run_end = [&](size_t from, auto&& in_class) {
    while (from < n && in_class(cps[from].value)) ++from;
    return from;
  };
  std::vector<std::string> pieces;
  for (size_t i = 0; i < n;) {
    size_t end = i;
    // 's 't 're 've 'm 'll 'd (case-sensitive, as in GPT-2).
    if (cps[i].value == '\'' && i + 1 < n) {
      const char32_t a = cps[i + 1].value, b = i + 2 < n ? cps[i + 2].value : 0;
      if (a == 's' || a == 't' || a == 'm' || a == 'd') {
        end = i + 2;
      } else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
        end = i + 3;
      }
    }
    if (end == i) {
      // An optional single space, then a run of letters, numbers or symbols.
      const size_t k = cps[i].value == ' ' ? i + 1 : i;
      if (k < n && is_letter(cps[k].value)) {
        end = run_end(k, is_letter);
      } else if (k < n && is_number(cps[k].value)) {
        end = run_end(k, is_number);
      } else if (k < n && is_symbol(cps[k].value)) {
        end = run_end(k, is_symbol);
      } else {
        // Whitespace: all of it at the end of the text; before other text all
        // but the last character (\s+(?!\S)), which then starts the next piece,
        // unless the run is one character long (\s+).
        const size_t run = run_end(i, is_whitespace);
        end = run == n || run - i == 1 ? run : run - 1;
      }
    }
    pieces.push_back(text.substr(cps[i].begin, cps[end - 1].end - cps[i].begin));
    i = end;
  }
  return pieces;
}

}  // namespace internal

namespace {

// A byte-level BPE vocabulary and its merges, as read from disk.
struct BpeFiles {
  nlohmann::json vocab;             // token -> id
  std::vector<std::string> merges;  // "a b", best first
  std::string vocab_where;          // names the vocabulary in messages
  std::string digest_input;         // the files' bytes, for the tokenizer's id
};

void add_merge(BpeFiles& files, std::string merge, const std::string& where) {
  const size_t space = merge.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 == merge.size() ||
      merge.find(' ', space + 1) != std::string::npos) {
    throw Error("GPT-2 merges " + where + " (" + internal::quote_text(merge) +
                ") is not two tokens separated by a space");
  }
  files.merges.push_back(std::move(merge));
}

// vocab.json and merges.txt, as GPT-2 ships them.
BpeFiles read_vocab_and_merges(const std::filesystem::path& directory) {
  BpeFiles files;
  files.vocab_where = "GPT-2 vocabulary '" + (directory / "vocab.json").string() + "'";
  const std::string merges_path = (directory / "merges.txt").string();
  const std::string vocab_text =
      internal::read_file((directory / "vocab.json").string(), "GPT-2 vocabulary");
  const std::string merges_text = internal::read_file(merges_path, "GPT-2 merges");
  files.vocab = internal::parse_json(vocab_text);
  std::istringstream lines(merges_text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (number == 1 && line.rfind("#version", 0) == 0)) continue;
    add_merge(files, line, "'" + merges_path + "' line " + std::to_string(number));
  }
  files.digest_input = vocab_text + merges_text;
  return files;
}

// tokenizer.json (Hugging Face tokenizers), when it holds a byte-level BPE:
// some checkpoints ship only that file.
BpeFiles read_tokenizer_json(const std::filesystem::path& directory) {
  const std::string path = (directory / "tokenizer.json").string();
  const std::string text = internal::read_file(path, "tokenizer");
  const auto json = internal::parse_json(text);
  const auto fail = [&](const std::string& problem) {
    throw Error("tokenizer '" + path + "' " + problem);
  };
  if (!json.is_object() || !json.contains("model") || !json["model"].is_object()) {
    fail("is not a tokenizers JSON file");
  }
  const nlohmann::json& model = json["model"];
  const nlohmann::json pre = json.value("pre_tokenizer", nlohmann::json());
  const std::string where = "tokenizer '" + path + "'";
  if (internal::string_field(model, "type", "", where + " model") != "BPE" || !pre.is_object() ||
      internal::string_field(pre, "type", "", where + " pre_tokenizer") != "ByteLevel") {
    fail("is not a GPT-2 byte-level BPE tokenizer (model.type BPE, pre_tokenizer ByteLevel)");
  }
  if (internal::bool_field(pre, "add_prefix_space", false, where + " pre_tokenizer")) {
    fail("uses add_prefix_space, which GPT-2 does not");
  }
  BpeFiles files;
  files.vocab_where = "tokenizer '" + path + "' model.vocab";
  files.vocab = model.value("vocab", nlohmann::json());
  const nlohmann::json merges = model.value("merges", nlohmann::json::array());
  if (!merges.is_array()) fail("has model.merges that is not an array");
  for (size_t i = 0; i < merges.size(); ++i) {
    const nlohmann::json& merge = merges[i];
    const std::string where = "'" + path + "' model.merges[" + std::to_string(i) + "]";
    if (merge.is_string()) {
      add_merge(files, merge.get<std::string>(), where);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {  // the newer ["a", "b"] form
      add_merge(files, merge[0].get<std::string>() + " " + merge[1].get<std::string>(), where);
    } else {
      add_merge(files, merge.dump(), where);
    }
  }
  files.digest_input = text;
  return files;
}

class Gpt2Tokenizer final : public Tokenizer {
 public:
  explicit Gpt2Tokenizer(const BpeFiles& files) : vocab_(files.vocab.size()) {
    if (!files.vocab.is_object() || files.vocab.empty()) {
      throw Error(files.vocab_where + " is not a JSON object of token ids");
    }
    for (const auto& [token, id] : files.vocab.items()) vocab_.add(token, id, files.vocab_where);
    for (const std::string& merge : files.merges) {
      const size_t space = merge.find(' ');
      merges_.add(merge.substr(0, space), merge.substr(space + 1));
    }
    if (vocab_.ids.count(kEndOfText)) special_ = kEndOfText;
    id_ = "gpt2-bpe:" + internal::sha256_hex(files.digest_input).substr(0, 16);
  }

  std::string id() const override { return id_; }

  TokenIds encode(const std::string& text) const override {
    TokenIds out;
    size_t from = 0;
    while (from <= text.size()) {
      const size_t special = special_.empty() ? std::string::npos : text.find(special_, from);
      const size_t stop = special == std::string::npos ? text.size() : special;
      for (const std::string& piece : internal::gpt2_pretokenize(text.substr(from, stop - from)))
        encode_piece(piece, out);
      if (special == std::string::npos) break;
      out.push_back(vocab_.ids.at(special_));
      from = special + special_.size();
    }
    return out;
  }

  std::string decode(const TokenIds& ids) const override {
    std::vector<std::string> tokens;
    for (int64_t id : ids) {
      const std::string* token = vocab_.token(id);
      tokens.push_back(token ? *token : "<|" + std::to_string(id) + "|>");
    }
    static const internal::TokenDecoder decoder = internal::TokenDecoder::byte_level();
    return decoder.decode(std::move(tokens));
  }

 private:
  static constexpr char kEndOfText[] = "<|endoftext|>";

  void encode_piece(const std::string& piece, TokenIds& out) const {
    std::vector<std::string> symbols;
    for (unsigned char b : piece) symbols.push_back(internal::byte_alphabet().symbol[b]);
    merges_.apply(symbols);
    for (const std::string& symbol : symbols) {
      const auto id = vocab_.ids.find(symbol);
      if (id == vocab_.ids.end()) {
        throw Error("GPT-2 tokenizer: the vocabulary has no token " + internal::quote_text(symbol) +
                    " (from the text " + internal::quote_text(piece) + ")");
      }
      out.push_back(id->second);
    }
  }

  internal::Vocabulary vocab_;
  internal::BpeMerges merges_;
  std::string special_;
  std::string id_;
};

}  // namespace

namespace internal {

std::vector<std::string> gpt2_tokenizer_files(const std::string& directory) {
  const std::filesystem::path dir(directory);
  std::error_code error;
  const auto has = [&](const char* name) {
    return std::filesystem::is_regular_file(dir / name, error);
  };
  if (has("tokenizer.json") && !has("vocab.json") && !has("merges.txt")) return {"tokenizer.json"};
  return {"vocab.json", "merges.txt"};
}

}  // namespace internal

std::shared_ptr<const Tokenizer> load_gpt2_tokenizer(const std::string& directory) {
  const bool json_only = internal::gpt2_tokenizer_files(directory).size() == 1;
  return std::make_shared<const Gpt2Tokenizer>(json_only ? read_tokenizer_json(directory)
                                                         : read_vocab_and_merges(directory));
}

}  // namespace detllm
