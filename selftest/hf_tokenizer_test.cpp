// tokenizer.json tokenizers on hand-worked strings: byte-level BPE with Llama
// 3's and Qwen2's Split regexes, SentencePiece-style BPE with byte fallback
// (Prepend/Replace normalizers as Llama 2 ships them, or Metaspace), added
// tokens, post-processors, and the errors of malformed files.
#include "detllm_test/hf_tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "detllm_test/error.h"
#include "test_files.h"
#include "tokenizers/tokenizer_files.h"

namespace detllm {
namespace {

using ::testing::ElementsAre;
using ::testing::StartsWith;
using json = nlohmann::json;

std::shared_ptr<const Tokenizer> from_json(const json& file) {
  return internal::hf_tokenizer_from_json("test/tokenizer.json", file.dump());
}

int64_t byte(char c) { return testing::gpt2_byte_id(static_cast<unsigned char>(c)); }

// Llama 3's tokenizer shape: whole pieces as tokens (ignore_merges), so the
// ids show how the Split regex cut the text.
json llama3_with_pieces() {
  json file = testing::tiny_llama_tokenizer_json();
  json& vocab = file["model"]["vocab"];
  vocab["Hello"] = 300;
  vocab["\xc4\xa0world"] = 301;  // "Ġworld": Ġ is the space byte
  vocab["'s"] = 302;
  vocab["123"] = 303;
  vocab["45"] = 304;
  vocab["'LL"] = 305;
  vocab["\xc4\x8a\xc4\x8a"] = 306;  // "ĊĊ": two newlines
  vocab
      ["\xc4\xa0"
       "b"] = 307;
  return file;
}

TEST(HfTokenizer, Llama3SplitRegexCutsWordsDigitTriplesAndNewlines) {
  const auto tokenizer = from_json(llama3_with_pieces());
  EXPECT_THAT(tokenizer->id(), StartsWith("hf-bpe:"));
  // "Hello" " world" "'s" " " "123" "45", after the template's BOS.
  EXPECT_THAT(tokenizer->encode("Hello world's 12345"),
              ElementsAre(256, 300, 301, 302, byte(' '), 303, 304));
  // Contractions case-insensitively: "I" "'LL" " go" (" go" is no token: its bytes).
  EXPECT_THAT(tokenizer->encode("I'LL go"),
              ElementsAre(256, byte('I'), 305, byte(' '), byte('g'), byte('o')));
  // "a" "\n\n" " b": newlines are a piece of their own.
  EXPECT_THAT(tokenizer->encode("a\n\n b"), ElementsAre(256, byte('a'), 306, 307));
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("Hello world's 12345")),
            "<|begin_of_text|>Hello world's 12345");
  // Invalid UTF-8 (no Rust string holds it) still splits and encodes; it
  // decodes as U+FFFD per invalid sequence, as tokenizers' decoders do.
  EXPECT_THAT(tokenizer->encode("a\xff\xfe b"),
              ElementsAre(256, byte('a'), byte('\xff'), byte('\xfe'), 307));
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("a\xff\xfe b 12\xc3")),
            "<|begin_of_text|>a\xef\xbf\xbd\xef\xbf\xbd b 12\xef\xbf\xbd");
}

TEST(HfTokenizer, AddedTokensAreMatchedBeforeThePipeline) {
  const auto tokenizer = from_json(llama3_with_pieces());
  EXPECT_THAT(tokenizer->encode("Hello<|end_of_text|><|begin_of_text|>45"),
              ElementsAre(256, 300, 257, 256, 304));
  EXPECT_EQ(tokenizer->decode({300, 257}), "Hello<|end_of_text|>");
}

TEST(HfTokenizer, Qwen2SingleDigitsAndNfcNormalization) {
  json file = testing::tiny_llama_tokenizer_json();
  file["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  file["normalizer"] = {{"type", "NFC"}};
  file["post_processor"] = nullptr;  // Qwen2 adds no BOS
  file["model"]["vocab"]["12"] = 300;
  const auto tokenizer = from_json(file);
  EXPECT_THAT(tokenizer->encode("12"), ElementsAre(byte('1'), byte('2')))
      << "one digit per piece, so never the token \"12\"";
  // "e" + U+0301 (combining acute) is "é" after NFC: bytes C3 A9.
  EXPECT_EQ(tokenizer->encode("cafe\xcc\x81"), tokenizer->encode("caf\xc3\xa9"));
  EXPECT_THAT(tokenizer->encode("caf\xc3\xa9"),
              ElementsAre(byte('c'), byte('a'), byte('f'), byte('\xc3'), byte('\xa9')));
}

// Llama 2's tokenizer.json: Prepend("▁") and Replace(" ", "▁") normalizers,
// no pre-tokenizer, BPE over characters with byte fallback, a BOS template.
json llama2_style() {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  const char* pieces[] = {
      "\xe2\x96\x81",     "H", "e", "l", "o", "i", "\xe2\x96\x81H", "ll", "\xe2\x96\x81He", "llo",
      "\xe2\x96\x81Hello"};
  for (int i = 0; i < 11; ++i) vocab[pieces[i]] = 259 + i;
  return {
      {"added_tokens",
       {{{"id", 0}, {"content", "<unk>"}, {"special", true}},
        {{"id", 1}, {"content", "<s>"}, {"special", true}},
        {{"id", 2}, {"content", "</s>"}, {"special", true}}}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\xe2\x96\x81"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xe2\x96\x81"}}}}}},
      {"pre_tokenizer", nullptr},
      {"decoder",  // Llama 2's
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\xe2\x96\x81"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}}}}, {{"Sequence", {{"id", "A"}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}}}}}}},
      {"model",
       {{"type", "BPE"},
        {"byte_fallback", true},
        {"fuse_unk", true},
        {"unk_token", "<unk>"},
        {"vocab", vocab},
        {"merges", {"\xe2\x96\x81 H", "l l", "\xe2\x96\x81H e", "ll o", "\xe2\x96\x81He llo"}}}}};
}

TEST(HfTokenizer, SentencePieceStyleMergesByRankWithByteFallback) {
  const auto tokenizer = from_json(llama2_style());
  EXPECT_THAT(tokenizer->id(), StartsWith("hf-spm-bpe:"));
  // "▁Hello": ▁ H → ▁H; l l → ll; ▁H e → ▁He; ll o → llo; ▁He llo → ▁Hello.
  EXPECT_THAT(tokenizer->encode("Hello"), ElementsAre(1, 269));
  // "▁Hi▁東": 東 is no piece, so its UTF-8 bytes E6 9D B1 as <0xNN> tokens.
  EXPECT_THAT(tokenizer->encode("Hi \xe6\x9d\xb1"),
              ElementsAre(1, 265, 264, 259, 3 + 0xE6, 3 + 0x9D, 3 + 0xB1));
  EXPECT_EQ(tokenizer->decode({265, 264, 259, 3 + 0xE6, 3 + 0x9D, 3 + 0xB1}), "Hi \xe6\x9d\xb1");
  EXPECT_EQ(tokenizer->decode({269}), "Hello");
  // Each segment between added tokens is normalized on its own (legacy Llama 2).
  EXPECT_THAT(tokenizer->encode("<s>Hello"), ElementsAre(1, 1, 269));
}

TEST(HfTokenizer, UnknownCharactersFuseIntoOneUnkWithoutByteFallback) {
  json file = llama2_style();
  file["model"]["byte_fallback"] = false;
  EXPECT_THAT(from_json(file)->encode("H\xe6\x9d\xb1\xe4\xba\xac"), ElementsAre(1, 265, 0));
}

TEST(HfTokenizer, MetaspacePrependsOnlyAtTheStartOfTheText) {
  json file = llama2_style();
  file["normalizer"] = nullptr;
  file["pre_tokenizer"] = {{"type", "Metaspace"},
                           {"replacement", "\xe2\x96\x81"},
                           {"prepend_scheme", "first"},
                           {"split", false}};
  const auto tokenizer = from_json(file);
  EXPECT_THAT(tokenizer->encode("Hello"), ElementsAre(1, 269));
  // After an added token the segment is not at the start: no ▁, so "H" "e" "llo".
  EXPECT_THAT(tokenizer->encode("<s>Hello"), ElementsAre(1, 1, 260, 261, 268));
}

TEST(HfTokenizer, AddedTokenStripsTheWhitespaceItAsksFor) {
  json file = llama3_with_pieces();
  file["added_tokens"].push_back(
      {{"id", 400}, {"content", "<mask>"}, {"lstrip", true}, {"rstrip", false}});
  EXPECT_THAT(from_json(file)->encode("a  <mask> b"), ElementsAre(256, byte('a'), 400, 307));
}

// tokenizers' decoders, worked by hand: Metaspace drops the prepended space of
// the first token only; ByteFallback makes one U+FFFD per byte of a cut
// character; without a decoder, tokens are joined with spaces.
TEST(HfTokenizer, DecodeFollowsTheFilesDecoder) {
  json file = llama2_style();
  const auto llama2 = from_json(file);
  EXPECT_EQ(llama2->decode({1, 269}), "<s> Hello");  // Strip only cuts the fused text's first space
  EXPECT_EQ(llama2->decode({3 + 0xE6, 3 + 0x9D}), "\xef\xbf\xbd\xef\xbf\xbd");
  file["decoder"] = {
      {"type", "Sequence"},
      {"decoders",
       {{{"type", "ByteFallback"}},
        {{"type", "Metaspace"}, {"replacement", "\xe2\x96\x81"}, {"prepend_scheme", "always"}}}}};
  EXPECT_EQ(from_json(file)->decode({269, 269}), "Hello Hello");
  EXPECT_EQ(from_json(file)->decode({1, 269}), "<s> Hello");
  file.erase("decoder");
  EXPECT_EQ(from_json(file)->decode({1, 269}), "<s> \xe2\x96\x81Hello");
}

// An added token marked single_word only matches between non-word characters;
// a normalized one is looked for in the normalized text.
TEST(HfTokenizer, AddedTokenFlagsSingleWordAndNormalized) {
  json file = llama3_with_pieces();
  file["added_tokens"].push_back({{"id", 401},
                                  {"content", "ab"},
                                  {"single_word", true},
                                  {"normalized", false},
                                  {"special", false}});
  const auto tokenizer = from_json(file);
  EXPECT_THAT(tokenizer->encode("ab cab"),
              ElementsAre(256, 401, byte(' '), byte('c'), byte('a'), byte('b')));
  file["normalizer"] = {{"type", "NFC"}};
  file["added_tokens"].push_back({{"id", 402},
                                  {"content", "e\xcc\x81"},  // e + combining acute
                                  {"normalized", true},
                                  {"special", false}});
  // The text's precomposed é matches the token's NFC form.
  EXPECT_THAT(from_json(file)->encode("\xc3\xa9"), ElementsAre(256, 402));
}

TEST(HfTokenizer, MalformedFilesNameTheProblem) {
  const auto edited = [](const std::function<void(json&)>& edit) {
    json file = llama3_with_pieces();
    edit(file);
    return file;
  };
  const std::pair<json, std::string> cases[] = {
      {json::array(), "is not a tokenizers JSON file"},
      {edited([](json& f) { f["model"]["type"] = "Unigram"; }), "only BPE models are supported"},
      {edited([](json& f) { f["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(a"; }),
       "does not compile at 2: missing closing parenthesis"},
      {edited([](json& f) {
         f["pre_tokenizer"] = {{"type", "Whitespace"}};
       }),
       "has pre_tokenizer Whitespace, which is not supported"},
      {edited([](json& f) {
         f["normalizer"] = {{"type", "NFKD"}};
       }),
       "has normalizer NFKD, which is not supported"},
      {edited([](json& f) { f["model"]["merges"] = {"x yz"}; }),
       "merges tokens into one the vocabulary lacks"},
      {edited([](json& f) { f["model"]["vocab"]["big"] = int64_t{1} << 40; }),
       "has id 1099511627776, not an integer in [0, "},
      {edited([](json& f) { f["added_tokens"][0]["content"] = 5; }),
       "field 'content' must be a string"},
      {edited([](json& f) { f["post_processor"]["single"][0]["SpecialToken"]["id"] = "<none>"; }),
       "naming no special token"},
      {edited([](json& f) { f["model"]["dropout"] = 0.1; }), "uses model.dropout"},
      {edited([](json& f) { f["post_processor"]["single"][0]["SpecialToken"] = 3; }),
       "naming no special token"},
      {edited([](json& f) { f["post_processor"]["special_tokens"]["<|begin_of_text|>"] = 3; }),
       "without ids"},
      {edited([](json& f) {
         f["decoder"] = {{"type", "WordPiece"}};
       }),
       "has decoder WordPiece, which is not supported"},
      {edited([](json& f) {
         f["decoder"] = {{"type", "Strip"}, {"content", "ab"}};
       }),
       "field 'content' must be one character"},
      {edited([](json& f) {
         f["decoder"] = {{"type", "Sequence"}, {"decoders", 1}};
       }),
       "has a Sequence decoder without a decoders list"},
      {edited([](json& f) { f["added_tokens"][0]["single_word"] = "yes"; }),
       "field 'single_word' must be"},
  };
  for (const auto& [file, message] : cases) {
    SCOPED_TRACE(message);
    EXPECT_ERROR_MENTIONS(from_json(file), message);
  }
}

// Llama 3 ships 128,256 ids and Qwen3 151,669, and JSON objects are read in
// key order, not id order: the bound on ids must count the whole file, not
// the entries read so far ("!!!!!" is the first key and has id 70,900 in Qwen's
// file). 150,000 entries whose ids are a permutation of their key order.
json large_vocabulary_file(int64_t& hello_id, int64_t& top_id) {
  json file = llama3_with_pieces();
  json& vocab = file["model"]["vocab"];
  constexpr int64_t kFirst = 400, kEntries = 150000;
  for (int64_t i = 0; i < kEntries; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "w%06lld", static_cast<long long>(i));
    vocab[key] = kFirst + (i * 7919) % kEntries;  // 7919 is prime: a permutation
  }
  top_id = kFirst + kEntries;
  vocab["!!!!!"] = top_id;  // sorts first, highest id
  hello_id = 300;
  file["added_tokens"].push_back({{"id", top_id + 1000}, {"content", "<|im_end|>"}});
  return file;
}

TEST(HfTokenizer, LoadsAVocabularyOfOver150000EntriesInAnyKeyOrder) {
  int64_t hello = 0, top = 0;
  const auto tokenizer = from_json(large_vocabulary_file(hello, top));
  EXPECT_THAT(tokenizer->encode("Hello!!!!!<|im_end|>"), ElementsAre(256, hello, top, top + 1000));
  EXPECT_EQ(tokenizer->decode({top, top + 1000}), "!!!!!<|im_end|>");
}

TEST(Gpt2Tokenizer, LoadsAVocabularyOfOver150000EntriesInAnyKeyOrder) {
  int64_t hello = 0, top = 0;
  const json file = large_vocabulary_file(hello, top);
  testing::TempDir dir;
  std::ofstream(dir.path() + "/vocab.json") << file["model"]["vocab"].dump();
  std::ofstream(dir.path() + "/merges.txt") << "#version: 0.2\n";
  const auto tokenizer = load_hf_tokenizer(dir.path());
  EXPECT_EQ(tokenizer->decode({top}), "!!!!!");
  EXPECT_THAT(tokenizer->encode("!"), ElementsAre(byte('!')));
}

TEST(HfTokenizer, ABacktrackingPatternFailsInsteadOfHanging) {
  json file = llama3_with_pieces();
  file["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(a+)+$";
  const auto tokenizer = from_json(file);
  EXPECT_ERROR_MENTIONS(tokenizer->encode(std::string(40, 'a') + "b"),
                        "tokenizer Split pattern failed");
}

TEST(HfTokenizer, LoadsFromADirectory) {
  testing::TempDir dir;
  std::ofstream(dir.path() + "/tokenizer.json") << llama3_with_pieces().dump();
  EXPECT_EQ(internal::hf_tokenizer_files(dir.path()), std::vector<std::string>{"tokenizer.json"});
  EXPECT_THAT(load_hf_tokenizer(dir.path())->encode("Hello"), ElementsAre(256, 300));
}

}  // namespace
}  // namespace detllm
