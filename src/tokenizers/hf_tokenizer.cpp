// Hugging Face tokenizers: tokenizer.json's BPE models with the normalizer,
// pre-tokenizer and post-processor the file declares, and SentencePiece's
// tokenizer.model. The pipeline is tokenizers' own: added tokens are split off
// first, then each remaining segment is normalized, pre-tokenized into pieces,
// and each piece merged by the BPE model; the post-processor adds its tokens.
#include "detllm_test/hf_tokenizer.h"

#include <utf8proc.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <unordered_map>

#include "artifacts/file_util.h"
#include "artifacts/json_io.h"
#include "artifacts/sha256.h"
#include "detllm_test/error.h"
#include "tokenizers/bpe.h"
#include "tokenizers/pretokenizer.h"
#include "tokenizers/regex.h"
#include "tokenizers/token_decoder.h"
#include "tokenizers/tokenizer_files.h"
#include "tokenizers/unicode_classes.h"
#include "tokenizers/utf8.h"

namespace detllm {
namespace {

using nlohmann::json;

constexpr char kMetaspace[] = "\xe2\x96\x81";  // U+2581, SentencePiece's space

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// One segment of text between added tokens, as it moves through the pipeline.
struct Segment {
  std::vector<std::string> pieces;
  bool at_text_start;  // starts at byte 0 of the input (Metaspace's "first")
};

using Step = std::function<void(Segment&)>;

// Applies `split` to every piece, flattening the results.
void split_pieces(Segment& segment,
                  const std::function<std::vector<std::string>(const std::string&)>& split) {
  std::vector<std::string> out;
  for (const std::string& piece : segment.pieces) {
    for (std::string& part : split(piece)) {
      if (!part.empty()) out.push_back(std::move(part));
    }
  }
  segment.pieces = std::move(out);
}

class HfTokenizer final : public Tokenizer {
 public:
  HfTokenizer(const std::string& path, const std::string& text)
      : where_("tokenizer '" + path + "'") {
    const json file = internal::parse_json(text);
    if (!file.is_object() || !file.contains("model") || !file["model"].is_object()) {
      fail("is not a tokenizers JSON file (no model object)");
    }
    const json added = file.value("added_tokens", json::array());
    const auto vocab = file["model"].find("vocab");
    vocab_ = internal::Vocabulary(
        (vocab != file["model"].end() && vocab->is_object() ? vocab->size() : 0) +
        (added.is_array() ? added.size() : 0));
    read_model(file["model"]);
    read_added_tokens(added);
    if (file.contains("normalizer")) read_normalizer(file["normalizer"]);
    if (file.contains("pre_tokenizer")) read_pre_tokenizer(file["pre_tokenizer"]);
    if (file.contains("post_processor")) read_post_processor(file["post_processor"]);
    decoder_ = std::make_unique<internal::TokenDecoder>(file.value("decoder", json()), where_);
    // Normalized added tokens are looked for in normalized text, as themselves
    // normalized; tokenizers also decodes them as that ("word" under Llama 2's
    // normalizer decodes as "▁word", a space).
    for (AddedToken& token : added_) {
      token.pattern = token.content;
      if (!token.normalized) continue;
      normalize(token.pattern);
      vocab_.tokens[static_cast<size_t>(token.id)] = token.pattern;
    }
    id_ = (byte_level_ ? "hf-bpe:" : "hf-spm-bpe:") + internal::sha256_hex(text).substr(0, 16);
  }

  std::string id() const override { return id_; }

  // As tokenizers does: added tokens that match the raw text are split off
  // first; each segment between them is normalized, then split at the
  // normalized added tokens; what remains is pre-tokenized and merged.
  TokenIds encode(const std::string& text) const override {
    TokenIds out = prefix_;
    split_at_added(text, /*normalized=*/false, out, [&](const std::string& raw, size_t raw_at) {
      std::string normalized = raw;
      normalize(normalized);
      split_at_added(normalized, /*normalized=*/true, out,
                     [&](const std::string& piece, size_t at) {
                       encode_segment(piece, raw_at == 0 && at == 0, out);
                     });
    });
    out.insert(out.end(), suffix_.begin(), suffix_.end());
    return out;
  }

  // Every id's token (an added token's content too) through the file's decoder.
  std::string decode(const TokenIds& ids) const override {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int64_t id : ids) {
      const std::string* found = vocab_.token(id);
      tokens.push_back(found ? *found : "<|" + std::to_string(id) + "|>");
    }
    return decoder_->decode(std::move(tokens));
  }

 private:
  struct AddedToken {
    int64_t id;
    std::string content;
    std::string pattern;  // what is looked for: the content, normalized if `normalized`
    bool lstrip, rstrip, single_word, normalized;
  };

  [[noreturn]] void fail(const std::string& problem) const { throw Error(where_ + " " + problem); }

  std::string type_of(const json& object, const std::string& what) const {
    if (!object.is_object()) fail("has a " + what + " that is not an object");
    return internal::string_field(object, "type", "", where_ + " " + what);
  }

  void add_token(const std::string& token, const json& id, const std::string& what) {
    vocab_.add(token, id, where_ + " " + what);
  }

  void read_model(const json& model) {
    const std::string where = where_ + " model";
    if (type_of(model, "model") != "BPE") {
      fail("has model.type " + model.value("type", json()).dump() +
           "; only BPE models are supported (not Unigram or WordPiece)");
    }
    for (const char* unsupported : {"dropout", "continuing_subword_prefix", "end_of_word_suffix"}) {
      if (model.contains(unsupported) && !model[unsupported].is_null() &&
          model[unsupported] != "") {
        fail(std::string("uses model.") + unsupported + ", which is not supported");
      }
    }
    byte_fallback_ = internal::bool_field(model, "byte_fallback", false, where);
    fuse_unk_ = internal::bool_field(model, "fuse_unk", false, where);
    ignore_merges_ = internal::bool_field(model, "ignore_merges", false, where);
    unk_token_ = internal::string_field(model, "unk_token", "", where);
    const json vocab = model.value("vocab", json());
    if (!vocab.is_object() || vocab.empty()) fail("has no model.vocab object of token ids");
    for (const auto& [token, id] : vocab.items()) add_token(token, id, "model.vocab");
    const json merges = model.value("merges", json::array());
    if (!merges.is_array()) fail("has model.merges that is not an array");
    for (size_t i = 0; i < merges.size(); ++i) {
      const json& merge = merges[i];
      std::string left, right;
      if (merge.is_string()) {
        const std::string text = merge.get<std::string>();
        const size_t space = text.find(' ');
        if (space != std::string::npos && text.find(' ', space + 1) == std::string::npos) {
          left = text.substr(0, space);
          right = text.substr(space + 1);
        }
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
                 merge[1].is_string()) {
        left = merge[0].get<std::string>();
        right = merge[1].get<std::string>();
      }
      const std::string what = "model.merges[" + std::to_string(i) + "] " + merge.dump();
      if (left.empty() || right.empty()) fail(what + " is not two tokens");
      if (!vocab_.ids.count(left) || !vocab_.ids.count(right) || !vocab_.ids.count(left + right)) {
        fail(what + " merges tokens into one the vocabulary lacks");
      }
      merges_.add(left, right);
    }
    if (!unk_token_.empty() && !vocab_.ids.count(unk_token_)) {
      fail("has model.unk_token " + internal::quote_text(unk_token_) + " outside the vocabulary");
    }
  }

  void read_added_tokens(const json& added) {
    if (!added.is_array()) fail("has added_tokens that is not an array");
    for (size_t i = 0; i < added.size(); ++i) {
      const std::string where = where_ + " added_tokens[" + std::to_string(i) + "]";
      if (!added[i].is_object()) fail("has added_tokens[" + std::to_string(i) + "] not an object");
      AddedToken token;
      token.content = internal::string_field(added[i], "content", "", where);
      token.lstrip = internal::bool_field(added[i], "lstrip", false, where);
      token.rstrip = internal::bool_field(added[i], "rstrip", false, where);
      token.single_word = internal::bool_field(added[i], "single_word", false, where);
      // tokenizers' default: special tokens match the raw text, others the normalized.
      token.normalized = internal::bool_field(
          added[i], "normalized", !internal::bool_field(added[i], "special", false, where), where);
      if (token.content.empty())
        fail("has added_tokens[" + std::to_string(i) + "] without content");
      add_token(token.content, added[i].value("id", json()), "added_tokens");
      token.id = vocab_.ids.at(token.content);
      added_.push_back(std::move(token));
    }
  }

  // Calls `segment(text, offset)` for each stretch of `text` between the added
  // tokens whose `normalized` flag is `normalized`, appending those tokens' ids
  // to `out` in between: tokenizers' leftmost-longest matching, where a
  // single_word token must not touch a word character, lstrip and rstrip take
  // the whitespace beside it, and a match refused as not a single word is
  // skipped as a whole.
  template <typename Segment>
  void split_at_added(const std::string& text, bool normalized, TokenIds& out,
                      const Segment& segment) const {
    size_t done = 0, from = 0;
    while (true) {
      const AddedToken* token = nullptr;
      size_t begin = std::string::npos;
      for (const AddedToken& candidate : added_) {
        if (candidate.normalized != normalized || candidate.pattern.empty()) continue;
        const size_t at = text.find(candidate.pattern, from);
        if (at < begin || (at == begin && at != std::string::npos &&
                           candidate.pattern.size() > token->pattern.size())) {
          token = &candidate;
          begin = at;
        }
      }
      if (!token) break;
      size_t end = begin + token->pattern.size();
      from = end;
      if (token->single_word && (word_before(text, begin) || word_after(text, end))) continue;
      if (token->lstrip) begin = std::max(done, space_before(text, begin));
      if (token->rstrip) end = space_after(text, end);
      if (begin > done) segment(text.substr(done, begin - done), done);
      out.push_back(token->id);
      done = from = end;
    }
    if (done < text.size() || text.empty()) segment(text.substr(done), done);
  }

  // Rust's \w: letters, numbers and '_' (combining marks are not counted).
  static bool is_word(char32_t c) {
    return c == '_' || internal::is_letter(c) || internal::is_number(c);
  }
  static bool word_before(const std::string& text, size_t at) {
    return at > 0 && is_word(internal::code_point_before(text, at).value);
  }
  static bool word_after(const std::string& text, size_t at) {
    return at < text.size() && is_word(internal::code_point_at(text, at).value);
  }
  // Where the (Unicode) whitespace that ends at `at` begins, and where the
  // whitespace that starts at `at` ends.
  static size_t space_before(const std::string& text, size_t at) {
    while (at > 0) {
      const internal::CodePoint cp = internal::code_point_before(text, at);
      if (!internal::is_whitespace(cp.value)) break;
      at = cp.begin;
    }
    return at;
  }
  static size_t space_after(const std::string& text, size_t at) {
    while (at < text.size()) {
      const internal::CodePoint cp = internal::code_point_at(text, at);
      if (!internal::is_whitespace(cp.value)) break;
      at = cp.end;
    }
    return at;
  }

  void normalize(std::string& text) const {
    for (const auto& step : normalizers_) step(text);
  }

  void read_normalizer(const json& normalizer) {
    if (normalizer.is_null()) return;
    const std::string type = type_of(normalizer, "normalizer");
    const std::string where = where_ + " normalizer " + type;
    if (type == "Sequence") {
      const json list = normalizer.value("normalizers", json());
      if (!list.is_array()) fail("has a Sequence normalizer without a normalizers list");
      for (const json& each : list) read_normalizer(each);
    } else if (type == "NFC") {
      normalizers_.push_back([](std::string& text) {
        // By length, not NUL-terminated: text may hold U+0000.
        utf8proc_uint8_t* normalized = nullptr;
        const utf8proc_ssize_t size =
            utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                         static_cast<utf8proc_ssize_t>(text.size()), &normalized,
                         static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
        if (size >= 0) {  // negative for invalid UTF-8, which stays as it is
          text.assign(reinterpret_cast<const char*>(normalized), static_cast<size_t>(size));
        }
        std::free(normalized);
      });
    } else if (type == "Prepend") {
      const std::string prepend = internal::string_field(normalizer, "prepend", "", where);
      normalizers_.push_back([prepend](std::string& text) {
        if (!text.empty()) text = prepend + text;
      });
    } else if (type == "Replace") {
      const json pattern = normalizer.value("pattern", json());
      if (!pattern.is_object() || !pattern.contains("String") || !pattern["String"].is_string()) {
        fail("has a Replace normalizer whose pattern is not a String (Regex is not supported)");
      }
      const std::string from = pattern["String"].get<std::string>();
      const std::string to = internal::string_field(normalizer, "content", "", where);
      normalizers_.push_back(
          [from, to](std::string& text) { text = internal::replace_all(text, from, to); });
    } else {
      fail("has normalizer " + type + ", which is not supported (NFC, Prepend, Replace, Sequence)");
    }
  }

  void read_pre_tokenizer(const json& pre) {
    if (pre.is_null()) return;
    const std::string type = type_of(pre, "pre_tokenizer");
    const std::string where = where_ + " pre_tokenizer " + type;
    if (type == "Sequence") {
      const json list = pre.value("pretokenizers", json());
      if (!list.is_array()) fail("has a Sequence pre_tokenizer without a pretokenizers list");
      for (const json& each : list) read_pre_tokenizer(each);
    } else if (type == "ByteLevel") {
      byte_level_ = true;
      const bool prefix_space = internal::bool_field(pre, "add_prefix_space", false, where);
      const bool use_regex = internal::bool_field(pre, "use_regex", true, where);
      steps_.push_back([prefix_space, use_regex](Segment& segment) {
        if (prefix_space && !segment.pieces.empty() && !starts_with(segment.pieces[0], " ")) {
          segment.pieces[0] = " " + segment.pieces[0];
        }
        split_pieces(segment, [use_regex](const std::string& piece) {
          std::vector<std::string> parts =
              use_regex ? internal::gpt2_pretokenize(piece) : std::vector<std::string>{piece};
          for (std::string& part : parts) {
            std::string mapped;
            for (unsigned char b : part) mapped += internal::byte_alphabet().symbol[b];
            part = std::move(mapped);
          }
          return parts;
        });
      });
    } else if (type == "Split") {
      read_split(pre, where);
    } else if (type == "Metaspace") {
      const std::string replacement = internal::string_field(pre, "replacement", kMetaspace, where);
      std::string scheme = internal::string_field(pre, "prepend_scheme", "", where);
      if (scheme.empty()) {  // older files: add_prefix_space
        scheme = internal::bool_field(pre, "add_prefix_space", true, where) ? "always" : "never";
      }
      if (scheme != "always" && scheme != "first" && scheme != "never") {
        fail("has Metaspace prepend_scheme " + internal::quote_text(scheme));
      }
      const bool split = internal::bool_field(pre, "split", true, where);
      steps_.push_back([replacement, scheme, split](Segment& segment) {
        for (size_t i = 0; i < segment.pieces.size(); ++i) {
          std::string& piece = segment.pieces[i];
          piece = internal::replace_all(piece, " ", replacement);
          const bool prepend =
              scheme == "always" || (scheme == "first" && i == 0 && segment.at_text_start);
          if (prepend && !starts_with(piece, replacement)) piece = replacement + piece;
        }
        if (!split) return;
        split_pieces(segment, [&replacement](const std::string& piece) {
          std::vector<std::string> parts;  // each part starts at a replacement (MergedWithNext)
          size_t start = 0;
          for (size_t at = piece.find(replacement, 1); at != std::string::npos;
               at = piece.find(replacement, at + replacement.size())) {
            parts.push_back(piece.substr(start, at - start));
            start = at;
          }
          parts.push_back(piece.substr(start));
          return parts;
        });
      });
    } else {
      fail("has pre_tokenizer " + type +
           ", which is not supported (ByteLevel, Split, Metaspace, Sequence)");
    }
  }

  void read_split(const json& pre, const std::string& where) {
    const json pattern = pre.value("pattern", json());
    std::string regex;
    if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
      regex = pattern["Regex"].get<std::string>();
    } else if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
      regex = "\\Q" + pattern["String"].get<std::string>() + "\\E";
    } else {
      fail("has a Split pre_tokenizer without a Regex or String pattern");
    }
    const std::string behavior = internal::string_field(pre, "behavior", "Isolated", where);
    if (behavior != "Isolated" && behavior != "Removed") {
      fail("has Split behavior " + behavior + ", which is not supported (Isolated, Removed)");
    }
    if (internal::bool_field(pre, "invert", false, where)) fail("has Split invert=true");
    auto compiled = std::make_shared<internal::Regex>(regex, where);
    const bool keep = behavior == "Isolated";
    steps_.push_back([compiled, keep](Segment& segment) {
      split_pieces(segment, [&](const std::string& piece) {
        std::vector<std::string> parts;
        size_t last = 0;
        for (const auto& [begin, end] : compiled->find_all(piece)) {
          parts.push_back(piece.substr(last, begin - last));
          if (keep) parts.push_back(piece.substr(begin, end - begin));
          last = end;
        }
        parts.push_back(piece.substr(last));
        return parts;
      });
    });
  }

  void read_post_processor(const json& post) {
    if (post.is_null()) return;
    const std::string type = type_of(post, "post_processor");
    if (type == "Sequence") {
      const json list = post.value("processors", json());
      if (!list.is_array()) fail("has a Sequence post_processor without a processors list");
      for (const json& each : list) read_post_processor(each);
    } else if (type == "TemplateProcessing") {
      const json single = post.value("single", json());
      const json special = post.value("special_tokens", json::object());
      if (!single.is_array() || !special.is_object()) {
        fail("has a TemplateProcessing post_processor without single and special_tokens");
      }
      bool after_sequence = false;
      for (const json& item : single) {
        if (item.is_object() && item.contains("Sequence")) {
          after_sequence = true;
          continue;
        }
        const json name =
            item.is_object() && item.contains("SpecialToken") && item["SpecialToken"].is_object()
                ? item["SpecialToken"].value("id", json())
                : json();
        if (!name.is_string() || !special.contains(name.get<std::string>())) {
          fail("has a TemplateProcessing item " + item.dump() + " naming no special token");
        }
        const json& entry = special[name.get<std::string>()];
        const json ids = entry.is_object() ? entry.value("ids", json()) : json();
        if (!ids.is_array()) fail("has special_tokens[" + name.dump() + "] without ids");
        for (const json& id : ids) {
          if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
              static_cast<size_t>(id.get<int64_t>()) >= vocab_.tokens.size()) {
            fail("has special_tokens[" + name.dump() + "] id " + id.dump() +
                 " outside the vocabulary");
          }
          (after_sequence ? suffix_ : prefix_).push_back(id.get<int64_t>());
        }
      }
    } else if (type != "ByteLevel") {  // ByteLevel only adjusts offsets
      fail("has post_processor " + type +
           ", which is not supported (TemplateProcessing, ByteLevel, Sequence)");
    }
  }

  // A normalized segment between added tokens: pre-tokenized, then merged.
  void encode_segment(const std::string& text, bool at_text_start, TokenIds& out) const {
    if (text.empty()) return;
    Segment segment{{text}, at_text_start};
    for (const Step& step : steps_) step(segment);
    for (const std::string& piece : segment.pieces) encode_piece(piece, out);
  }

  void encode_piece(const std::string& piece, TokenIds& out) const {
    if (piece.empty()) return;
    if (ignore_merges_) {
      const auto whole = vocab_.ids.find(piece);
      if (whole != vocab_.ids.end()) {
        out.push_back(whole->second);
        return;
      }
    }
    std::vector<std::string> symbols;
    for (const auto& cp : internal::decode_utf8(piece)) {
      std::string symbol = piece.substr(cp.begin, cp.end - cp.begin);
      if (vocab_.ids.count(symbol)) {
        symbols.push_back(std::move(symbol));
        continue;
      }
      bool fell_back = byte_fallback_;
      std::vector<std::string> bytes;
      for (unsigned char b : symbol) {
        static const char kHex[] = "0123456789ABCDEF";
        bytes.push_back(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">");
        fell_back = fell_back && vocab_.ids.count(bytes.back());
      }
      if (fell_back) {
        symbols.insert(symbols.end(), bytes.begin(), bytes.end());
      } else if (!unk_token_.empty()) {
        if (!(fuse_unk_ && !symbols.empty() && symbols.back() == unk_token_)) {
          symbols.push_back(unk_token_);
        }
      } else {
        throw Error("tokenizer " + id_ + ": the vocabulary has no token for " +
                    internal::quote_text(symbol) + " and no byte fallback or unk_token");
      }
    }
    merges_.apply(symbols);
    for (const std::string& symbol : symbols) out.push_back(vocab_.ids.at(symbol));
  }

  std::string where_, id_;
  internal::Vocabulary vocab_;
  internal::BpeMerges merges_;
  std::vector<AddedToken> added_;
  std::unique_ptr<internal::TokenDecoder> decoder_;
  std::vector<std::function<void(std::string&)>> normalizers_;
  std::vector<Step> steps_;
  TokenIds prefix_, suffix_;  // what the post-processor adds around a sequence
  std::string unk_token_;
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
  bool byte_level_ = false;
};

}  // namespace

namespace internal {

std::vector<std::string> hf_tokenizer_files(const std::string& directory) {
  const std::filesystem::path dir(directory);
  std::error_code error;
  const auto has = [&](const char* name) {
    return std::filesystem::is_regular_file(dir / name, error);
  };
  if (has("tokenizer.json")) return {"tokenizer.json"};
  if (has("vocab.json") && has("merges.txt")) return {"vocab.json", "merges.txt"};
  // Debian 12's libsentencepiece carries protobuf 3.14 code that aborts in a
  // process holding libtorch's protobuf 3.21, so tokenizer.model is not read
  // here; transformers converts it to the tokenizer.json read instead.
  if (has("tokenizer.model")) {
    throw Error("checkpoint '" + directory +
                "' has only a SentencePiece tokenizer.model, which is not supported; write its "
                "tokenizer.json with transformers: AutoTokenizer.from_pretrained(dir)"
                ".save_pretrained(dir)");
  }
  throw Error("checkpoint '" + directory +
              "' has no tokenizer: expected tokenizer.json, or vocab.json and merges.txt");
}

std::shared_ptr<const Tokenizer> hf_tokenizer_from_json(const std::string& path,
                                                        const std::string& text) {
  return std::make_shared<const HfTokenizer>(path, text);
}

}  // namespace internal

std::shared_ptr<const Tokenizer> load_hf_tokenizer(const std::string& directory) {
  const std::vector<std::string> files = internal::hf_tokenizer_files(directory);
  const std::filesystem::path dir(directory);
  if (files[0] == "tokenizer.json") {
    const std::string path = (dir / "tokenizer.json").string();
    return internal::hf_tokenizer_from_json(path, internal::read_file(path, "tokenizer"));
  }
  return load_gpt2_tokenizer(directory);
}

}  // namespace detllm
