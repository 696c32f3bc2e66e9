// GPT-2 checkpoints: the safetensors reader, loading a Hugging Face directory
// (checked against an independent forward pass), and the byte-level BPE
// tokenizer (checked against hand-worked tokenizations).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "artifacts/sha256.h"
#include "checkpoint/tensor_file.h"
#include "detllm_test/check.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "reference_check.h"
#include "test_models.h"
#include "tokenizers/pretokenizer.h"

namespace detllm {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
using Tensors = std::vector<std::pair<std::string, at::Tensor>>;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A safetensors file from a literal header and data section.
std::string raw_safetensors(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

// The same vocabulary as a tokenizers JSON file (merges as "a b" strings, or as
// the newer ["a", "b"] pairs), as some checkpoints ship it instead.
json tokenizer_json(const std::string& dir, bool pair_merges) {
  json merges = json::array();
  for (const auto& [a, b] : testing::TinyGpt2::default_merges()) {
    merges.push_back(pair_merges ? json::array({a, b}) : json(a + " " + b));
  }
  return {{"version", "1.0"},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}}},
          {"model",
           {{"type", "BPE"},
            {"vocab", internal::read_json_file(dir + "/vocab.json", "vocab")},
            {"merges", merges}}}};
}

// ---- safetensors -------------------------------------------------------------

TEST(Safetensors, RoundTripsDtypesShapesAndMetadata) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/t.safetensors";
  const Tensors tensors = {{"f32", at::randn({3, 5})},
                           {"bf16", at::randn({4}).to(at::kBFloat16)},
                           {"f16", at::randn({2, 2, 2}).to(at::kHalf)},
                           {"i64", at::arange(7)},
                           {"u8", at::arange(5).to(at::kByte)},
                           {"scalar", at::scalar_tensor(2.5)},
                           {"empty", at::empty({0, 3})},
                           {"strided", at::randn({4, 6}).t()}};
  internal::write_safetensors(path, tensors, {{"format", "pt"}});
  internal::SafetensorsFile file(path);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.entries().size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    SCOPED_TRACE(name);
    const at::Tensor back = file.read(name);
    EXPECT_EQ(back.scalar_type(), tensor.scalar_type());
    EXPECT_EQ(back.sizes(), tensor.sizes());
    EXPECT_TRUE(at::equal(back, tensor));
  }
  EXPECT_EQ(file.entries().at("bf16").dtype, "BF16");
  EXPECT_ERROR_MENTIONS(file.read("missing"), "has no tensor 'missing'");
}

TEST(Safetensors, CorruptHeadersNameTheProblem) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/bad.safetensors";
  const std::string eight(8, 'x');  // the data of one F32 [2] tensor
  const struct {
    std::string file, message;
  } cases[] = {
      {"abc", "shorter than its 8-byte header length"},
      {std::string("\xff\xff\xff\xff\0\0\0\0", 8) + "{}",
       "header length (4294967295 bytes) exceeds"},
      {raw_safetensors("not json", ""), "header is not a JSON object"},
      {raw_safetensors("[1, 2]", ""), "header is not a JSON object"},
      {raw_safetensors(R"({"a": 3})", ""), "expected an object with dtype, shape and data_offsets"},
      {raw_safetensors(R"({"a": {"dtype": "F7", "shape": [2], "data_offsets": [0, 8]}})", eight),
       "unsupported dtype \"F7\""},
      {raw_safetensors(R"({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", eight),
       "is not a list of sizes"},
      {raw_safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", eight),
       "is not [begin, end]"},
      {raw_safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}})", eight),
       "lie outside the 8 data bytes"},
      {raw_safetensors(R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", eight),
       "hold 8 bytes, but F32 [3] needs 12"},
      {raw_safetensors(
           R"({"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 8]}})",
           eight),
       "is too large"},
      {raw_safetensors(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                           "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                       eight),
       "overlaps at byte 4"},
      {raw_safetensors(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", eight),
       "leaves a gap at byte 0"},
      {raw_safetensors(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", eight),
       "4 data bytes belong to no tensor"},
      {raw_safetensors(R"({"__metadata__": {"format": 1}})", ""),
       "__metadata__.format is not a string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    write_bytes(path, c.file);
    EXPECT_ERROR_MENTIONS(internal::SafetensorsFile{path}, c.message);
  }
  EXPECT_ERROR_MENTIONS(internal::SafetensorsFile{dir.path() + "/none.safetensors"},
                        "file does not exist");
}

// Every prefix of a valid file is an error naming the file, never a crash or a
// read past the end.
TEST(Safetensors, EveryTruncationIsAnError) {
  testing::TempDir dir;
  const std::string whole = dir.path() + "/whole.safetensors",
                    cut = dir.path() + "/cut.safetensors";
  internal::write_safetensors(whole, {{"a", at::randn({3})}, {"b", at::arange(4)}});
  const std::string bytes = read_bytes(whole);
  for (size_t length = 0; length < bytes.size(); ++length) {
    write_bytes(cut, bytes.substr(0, length));
    EXPECT_THROW(internal::SafetensorsFile{cut}, Error) << "cut at " << length;
  }
}

// ---- GPT-2 checkpoints --------------------------------------------------------

// GPT-2's forward pass in float64, written from transformers' modeling_gpt2
// (Conv1D is x @ W + b), independent of the library's built-in transformer.
class ReferenceGpt2 {
 public:
  explicit ReferenceGpt2(const std::string& dir) {
    internal::SafetensorsFile file(dir + "/model.safetensors");
    for (const auto& [name, entry] : file.entries()) {
      std::string key = name.rfind("transformer.", 0) == 0 ? name.substr(12) : name;
      weights_[key] = file.read(name).to(at::kDouble);
    }
    const json config = internal::read_json_file(dir + "/config.json", "config");
    layers_ = config["n_layer"];
    heads_ = config["n_head"];
  }

  // Logits [V] of the token after `ids`.
  at::Tensor next_logits(const TokenIds& ids) {
    const int64_t T = static_cast<int64_t>(ids.size()), C = w("wte.weight").size(1);
    const int64_t H = heads_, D = C / H;
    at::Tensor x =
        w("wte.weight").index_select(0, at::tensor(ids)) + w("wpe.weight").narrow(0, 0, T);
    const at::Tensor future = at::ones({T, T}, at::kBool).triu(1);
    for (int l = 0; l < layers_; ++l) {
      const std::string h = "h." + std::to_string(l) + ".";
      at::Tensor a = at::layer_norm(x, {C}, w(h + "ln_1.weight"), w(h + "ln_1.bias"), 1e-5);
      at::Tensor qkv = a.matmul(w(h + "attn.c_attn.weight")) + w(h + "attn.c_attn.bias");
      const auto heads = [&](int i) {
        return qkv.narrow(1, i * C, C).reshape({T, H, D}).permute({1, 0, 2});
      };
      at::Tensor scores = heads(0).matmul(heads(1).transpose(1, 2)) / std::sqrt(double(D));
      at::Tensor probs = at::softmax(scores.masked_fill(future, -INFINITY), -1);
      at::Tensor attended = probs.matmul(heads(2)).permute({1, 0, 2}).reshape({T, C});
      x = x + attended.matmul(w(h + "attn.c_proj.weight")) + w(h + "attn.c_proj.bias");
      at::Tensor m = at::layer_norm(x, {C}, w(h + "ln_2.weight"), w(h + "ln_2.bias"), 1e-5);
      at::Tensor f = m.matmul(w(h + "mlp.c_fc.weight")) + w(h + "mlp.c_fc.bias");
      at::Tensor gelu = 0.5 * f * (1 + at::tanh(std::sqrt(2 / M_PI) * (f + 0.044715 * f.pow(3))));
      x = x + gelu.matmul(w(h + "mlp.c_proj.weight")) + w(h + "mlp.c_proj.bias");
    }
    x = at::layer_norm(x, {C}, w("ln_f.weight"), w("ln_f.bias"), 1e-5);
    const at::Tensor& head =
        weights_.count("lm_head.weight") ? w("lm_head.weight") : w("wte.weight");
    return x[T - 1].matmul(head.t());
  }

 private:
  const at::Tensor& w(const std::string& name) { return weights_.at(name); }
  std::map<std::string, at::Tensor> weights_;
  int layers_ = 0, heads_ = 0;
};

const std::vector<std::string> kTexts = {"the cat sat on the mat", "Hello, world!",
                                         "It's 3.14 — naïve café", "東京タワー"};

void expect_matches_reference(const std::string& dir) {
  auto model = load_gpt2_model(dir);
  ReferenceGpt2 reference(dir);
  std::vector<TokenIds> prompts;
  for (const std::string& text : kTexts) prompts.push_back(model->tokenizer().encode(text));
  testing::expect_greedy_matches_reference(
      *model, prompts, [&](const TokenIds& ids) { return reference.next_logits(ids); });
}

TEST(Gpt2Checkpoint, MatchesAnIndependentForwardPass) {
  testing::TempDir dir;
  testing::write_tiny_gpt2(dir.path());
  expect_matches_reference(dir.path());
}

// Checkpoints saved without the "transformer." prefix and with an untied head.
TEST(Gpt2Checkpoint, ReadsBothNamingsAndAnUntiedHead) {
  testing::TempDir dir;
  testing::TinyGpt2 options;
  options.transformer_prefix = false;
  options.untied_head = true;
  options.n_inner = 128;
  testing::write_tiny_gpt2(dir.path(), options);
  expect_matches_reference(dir.path());
}

TEST(Gpt2Checkpoint, LoadModelTakesADirectoryAndRecordsItsFiles) {
  testing::TempDir dir, packs;
  const std::string model_dir = dir.path() + "/tiny-gpt2";
  testing::write_tiny_gpt2(model_dir);
  auto model = load_model(model_dir);
  const ModelInfo info = model->info();
  EXPECT_EQ(info.name, model_dir);
  ASSERT_EQ(info.files.size(), 4u);
  EXPECT_EQ(info.files[0].path, model_dir + "/model.safetensors");
  for (const ModelFile& file : info.files) EXPECT_EQ(file.sha256, internal::sha256_file(file.path));
  EXPECT_THAT(model->tokenizer().id(), StartsWith("gpt2-bpe:"));

  CheckOptions options;
  options.runs = 2;
  options.vary_batch = {1, 3};
  options.decoding.max_new_tokens = 6;
  options.out_dir = packs.path();
  const CheckResult result = check(*model, {"the cat", "Hello, world!"}, options);
  EXPECT_TRUE(result.passed()) << result.report.headline();
  const json run_config =
      internal::read_json_file(result.pack_dir + "/run_config.json", "run_config");
  EXPECT_EQ(run_config["tokenizer"]["id"], model->tokenizer().id());
  EXPECT_EQ(run_config["model"], model_dir);
  EXPECT_EQ(run_config["model_sha256"], info.files[0].sha256);
  ASSERT_EQ(run_config["model_files"].size(), 4u);
  EXPECT_EQ(run_config["model_files"][3]["path"], model_dir + "/merges.txt");
  EXPECT_EQ(run_config["model_files"][3]["sha256"], info.files[3].sha256);
}

// A checkpoint whose tokenizer is only a tokenizer.json.
TEST(Gpt2Checkpoint, LoadsWithATokenizerJsonOnly) {
  testing::TempDir dir;
  testing::write_tiny_gpt2(dir.path());
  std::ofstream(dir.path() + "/tokenizer.json") << tokenizer_json(dir.path(), true);
  const auto with_vocab = load_gpt2_model(dir.path());
  // run_config.json lists the files read: vocab.json and merges.txt win, so not tokenizer.json.
  ASSERT_EQ(with_vocab->info().files.size(), 4u);
  EXPECT_EQ(with_vocab->info().files[3].path, dir.path() + "/merges.txt");
  std::filesystem::remove(dir.path() + "/vocab.json");
  std::filesystem::remove(dir.path() + "/merges.txt");
  const auto model = load_gpt2_model(dir.path());
  EXPECT_EQ(model->tokenizer().encode("the cat sat"),
            with_vocab->tokenizer().encode("the cat sat"));
  ASSERT_EQ(model->info().files.size(), 3u);
  EXPECT_EQ(model->info().files[2].path, dir.path() + "/tokenizer.json");
}

// save_hf_checkpoint writes what load_gpt2_model reads: the same model, bit for bit.
TEST(Gpt2Checkpoint, SavedBuiltinModelLoadsBackIdentically) {
  testing::TempDir dir;
  auto builtin = make_builtin_model(BuiltinConfig::tiny());
  save_hf_checkpoint(*builtin, dir.path());
  testing::write_bpe_files(dir.path(), {});
  auto loaded = load_gpt2_model(dir.path());
  GenerationConfig greedy;
  greedy.max_new_tokens = 10;
  const std::vector<TokenIds> batch = {{72, 101, 108, 108, 111}, {84, 104, 101}};
  const auto a = builtin->generate(batch, greedy), b = loaded->generate(batch, greedy);
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens);
    EXPECT_EQ(a[i].logprobs, b[i].logprobs);
  }
  const json config = internal::read_json_file(dir.path() + "/config.json", "config");
  EXPECT_EQ(config["model_type"], "gpt2");
  EXPECT_EQ(config["n_embd"], 64);
  EXPECT_TRUE(internal::SafetensorsFile(dir.path() + "/model.safetensors")
                  .contains("transformer.h.1.mlp.c_proj.weight"));
}

class BadGpt2Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_tiny_gpt2(dir_.path()); }
  void edit_config(const std::function<void(json&)>& edit) {
    json config = internal::read_json_file(path("config.json"), "config");
    edit(config);
    std::ofstream(path("config.json")) << config.dump();
  }
  void edit_weights(const std::function<void(Tensors&)>& edit) {
    internal::SafetensorsFile file(path("model.safetensors"));
    Tensors tensors;
    for (const auto& [name, entry] : file.entries()) tensors.emplace_back(name, file.read(name));
    edit(tensors);
    internal::write_safetensors(path("model.safetensors"), tensors);
  }
  static at::Tensor& find(Tensors& tensors, const std::string& name) {
    for (auto& [n, t] : tensors)
      if (n == name) return t;
    throw std::runtime_error("no " + name);
  }
  std::string path(const std::string& file) const { return dir_.path() + "/" + file; }
  void expect_load_error(const std::string& message) {
    EXPECT_ERROR_MENTIONS(load_gpt2_model(dir_.path()), message);
  }
  testing::TempDir dir_;
};

TEST_F(BadGpt2Checkpoint, MissingDirectoryOrFile) {
  EXPECT_ERROR_MENTIONS(load_gpt2_model(path("nothing")), "not a directory");
  std::filesystem::remove(path("model.safetensors"));
  expect_load_error("has no weights: neither model.safetensors nor model.safetensors.index.json");
  std::filesystem::remove(path("merges.txt"));
  expect_load_error("it has no merges.txt");
  std::filesystem::remove(path("config.json"));
  expect_load_error("it has no config.json");
}

TEST_F(BadGpt2Checkpoint, ConfigWithoutALayerCount) {
  edit_config([](json& c) { c.erase("n_layer"); });
  expect_load_error("config.json': has no n_layer");
}

TEST_F(BadGpt2Checkpoint, ConfigOfAnotherArchitecture) {
  edit_config([](json& c) { c["model_type"] = "llama"; });
  expect_load_error("model_type \"llama\" is not a GPT-2-family model");
}

TEST_F(BadGpt2Checkpoint, ConfigWithBadValues) {
  edit_config([](json& c) { c["n_head"] = 5; });
  expect_load_error("n_embd is not a multiple of n_head");
  edit_config([](json& c) { c["n_head"] = "four"; });
  expect_load_error("field 'n_head' must be an integer from 1 to 2147483648, not \"four\"");
  edit_config([](json& c) {
    c["n_head"] = 4;
    c["activation_function"] = "relu";
  });
  expect_load_error("activation_function 'relu' is not supported");
  std::ofstream(path("config.json")) << "{\"n_layer\": ";
  expect_load_error("is not valid JSON");
}

TEST_F(BadGpt2Checkpoint, MissingTensor) {
  edit_weights([](Tensors& t) {
    t.erase(std::remove_if(t.begin(), t.end(),
                           [](auto& e) { return e.first == "transformer.h.1.mlp.c_fc.bias"; }),
            t.end());
  });
  expect_load_error("have no tensor 'transformer.h.1.mlp.c_fc.bias'");
}

TEST_F(BadGpt2Checkpoint, LinearInsteadOfConv1DLayout) {
  edit_weights([](Tensors& t) {
    at::Tensor& w = find(t, "transformer.h.0.attn.c_attn.weight");
    w = w.t().contiguous();
  });
  expect_load_error(
      "tensor 'transformer.h.0.attn.c_attn.weight' has shape [96,32] but config.json "
      "implies [32,96] (transposed: GPT-2 stores Conv1D weights as [in, out])");
}

TEST_F(BadGpt2Checkpoint, UnexpectedTensor) {
  edit_weights([](Tensors& t) {
    t.emplace_back("transformer.h.0.crossattention.q_attn.weight", at::zeros({2}));
  });
  expect_load_error("unexpected tensor 'transformer.h.0.crossattention.q_attn.weight'");
}

TEST_F(BadGpt2Checkpoint, IntegerWeights) {
  edit_weights([](Tensors& t) { find(t, "transformer.ln_f.bias") = at::zeros({32}, at::kLong); });
  expect_load_error("tensor 'transformer.ln_f.bias' has dtype I64, not a floating-point type");
}

TEST_F(BadGpt2Checkpoint, TruncatedWeights) {
  const std::string bytes = read_bytes(path("model.safetensors"));
  write_bytes(path("model.safetensors"), bytes.substr(0, bytes.size() - 100));
  expect_load_error("lie outside the");
}

// ---- GPT-2's byte-level BPE tokenizer -----------------------------------------

// Hand-worked splits of GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
TEST(Gpt2Pretokenize, SplitsLikeGpt2sPattern) {
  const struct {
    std::string text;
    std::vector<std::string> pieces;
  } cases[] = {
      {"Hello world", {"Hello", " world"}},
      {"I'm don't they're we've I'll he'd it's",
       {"I", "'m", " don", "'t", " they", "'re", " we", "'ve", " I", "'ll", " he", "'d", " it",
        "'s"}},
      // Contractions are case-sensitive; "'x" is no contraction.
      {"DON'T 'x", {"DON", "'", "T", " '", "x"}},
      {"'sa", {"'s", "a"}},
      // A run of spaces gives all but its last to itself; the last joins the word.
      {"a   b", {"a", "  ", " b"}},
      {"a\n\nb", {"a", "\n", "\n", "b"}},
      {"x  \ty", {"x", "  ", "\t", "y"}},
      {"end  ", {"end", "  "}},
      {"  lead", {" ", " lead"}},
      {"\n", {"\n"}},
      {" 123abc", {" 123", "abc"}},
      {"3.14", {"3", ".", "14"}},
      {"Hello!!! 😀😀 ok", {"Hello", "!!!", " 😀😀", " ok"}},
      {"東京タワー", {"東京タワー"}},  // Han, Katakana and the prolonged sound mark (Lm)
      {"Привет, мир", {"Привет", ",", " мир"}},
      {"مرحبا بالعالم", {"مرحبا", " بالعالم"}},
      {"naïve café", {"naïve", " café"}},
      {"e\u0301", {"e", "\u0301"}},        // a combining accent is neither letter nor number
      {"१२३ Ⅻ", {"१२३", " Ⅻ"}},            // Devanagari digits (Nd), a Roman numeral (Nl)
      {"a\u00a0b", {"a", "\u00a0", "b"}},  // no-break space is whitespace, not ' '
      {"\xff\xfe"
       "a",
       {"\xff\xfe", "a"}},  // invalid UTF-8: symbols, byte by byte
      {"", {}},
  };
  for (const auto& c : cases) {
    EXPECT_THAT(internal::gpt2_pretokenize(c.text), ElementsAreArray(c.pieces))
        << internal::quote_text(c.text);
  }
}

class BpeTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_bpe_files(dir_.path(), testing::TinyGpt2::default_merges());
  }
  testing::TempDir dir_;
};

int64_t byte(char c) { return testing::gpt2_byte_id(static_cast<unsigned char>(c)); }

// Worked by hand from the merges in TinyGpt2::default_merges (ranks from 0):
// "Ġ t" 0, "h e" 2, "Ġt he" 6, "a t" 9, "Ġ c" 13, "o r" 17, "in g" 22, "l l" 23;
// merge results get ids from 256 in order: he 258, in 259, Ġthe 262, at 265,
// Ġc 269, or 273, ing 278, ll 279; "<|endoftext|>" is 286.
TEST_F(BpeTokenizer, MergesByRank) {
  auto tokenizer = load_gpt2_tokenizer(dir_.path());
  EXPECT_EQ(byte(' '), 220);  // "Ġ", as in GPT-2's own vocabulary
  EXPECT_EQ(byte('\n'), 198);
  EXPECT_EQ(byte('!'), 0);
  EXPECT_THAT(tokenizer->encode(" the"), ElementsAre(262));
  EXPECT_THAT(tokenizer->encode("the cat"), ElementsAre(byte('t'), 258, 269, 265));
  EXPECT_THAT(tokenizer->encode("running"),
              ElementsAre(byte('r'), byte('u'), byte('n'), byte('n'), 278));
  EXPECT_THAT(tokenizer->encode("Hello\n\nworld"),
              ElementsAre(byte('H'), byte('e'), 279, byte('o'), 198, 198, byte('w'), 273, byte('l'),
                          byte('d')));
  EXPECT_THAT(tokenizer->encode("a<|endoftext|>b"), ElementsAre(byte('a'), 286, byte('b')));
  EXPECT_THAT(tokenizer->encode(""), ElementsAre());
}

TEST_F(BpeTokenizer, LowerRankWinsAndEveryOccurrenceMerges) {
  testing::TempDir dir;
  testing::write_bpe_files(dir.path(), {{"b", "c"}, {"a", "b"}, {"a", "a"}, {"aa", "aa"}});
  auto tokenizer = load_gpt2_tokenizer(dir.path());
  // bc 256, ab 257, aa 258, aaaa 259.
  EXPECT_THAT(tokenizer->encode("abc"), ElementsAre(byte('a'), 256));
  EXPECT_THAT(tokenizer->encode("aaaaa"), ElementsAre(259, byte('a')));
  EXPECT_THAT(tokenizer->encode("aaa"), ElementsAre(258, byte('a')));
}

TEST_F(BpeTokenizer, DecodesExactlyWhatItEncodes) {
  auto tokenizer = load_gpt2_tokenizer(dir_.path());
  const std::vector<std::string> texts = {"the cat sat on the mat",
                                          "I'm   here\n\n\tnow  ",
                                          "😀 emoji 👩‍👩‍👧 family",
                                          "東京タワー",
                                          "Привет, мир",
                                          "مرحبا",
                                          "e\u0301",
                                          "tab\there",
                                          "a<|endoftext|>b",
                                          std::string("nul\0byte", 8)};
  for (const std::string& text : texts) {
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(text)), text) << internal::quote_text(text);
  }
  // Bytes that are not UTF-8 still encode, and decode as U+FFFD, one per
  // maximal invalid sequence, as tokenizers' ByteLevel decoder does.
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("\xff\xfe invalid \xc3")),
            "\xef\xbf\xbd\xef\xbf\xbd invalid \xef\xbf\xbd");
  EXPECT_EQ(tokenizer->decode({286}), "<|endoftext|>");
  EXPECT_EQ(tokenizer->decode({999, -1}), "<|999|><|-1|>");
}

TEST_F(BpeTokenizer, IdNamesTheVocabulary) {
  testing::TempDir other;
  testing::write_bpe_files(other.path(), {{"Ġ", "t"}});
  const std::string id = load_gpt2_tokenizer(dir_.path())->id();
  EXPECT_THAT(id, StartsWith("gpt2-bpe:"));
  EXPECT_EQ(id.size(), std::string("gpt2-bpe:").size() + 16);
  EXPECT_EQ(load_gpt2_tokenizer(dir_.path())->id(), id);
  EXPECT_NE(load_gpt2_tokenizer(other.path())->id(), id);
}

TEST_F(BpeTokenizer, ReadsTokenizerJsonWhenThereIsNoVocabJson) {
  auto reference = load_gpt2_tokenizer(dir_.path());
  for (bool pair_merges : {false, true}) {
    testing::TempDir other;
    std::ofstream(other.path() + "/tokenizer.json") << tokenizer_json(dir_.path(), pair_merges);
    auto tokenizer = load_gpt2_tokenizer(other.path());
    for (const std::string text : {"the cat sat", "Hello\n\nworld running", "a<|endoftext|>b"}) {
      EXPECT_EQ(tokenizer->encode(text), reference->encode(text)) << text;
    }
    EXPECT_THAT(tokenizer->id(), StartsWith("gpt2-bpe:"));
  }
}

TEST_F(BpeTokenizer, RefusesOtherTokenizerJsonKinds) {
  testing::TempDir other;
  const std::string path = other.path() + "/tokenizer.json";
  json wordpiece = tokenizer_json(dir_.path(), false);
  wordpiece["model"]["type"] = "WordPiece";
  std::ofstream(path) << wordpiece;
  EXPECT_ERROR_MENTIONS(load_gpt2_tokenizer(other.path()),
                        "is not a GPT-2 byte-level BPE tokenizer");
  json prefix = tokenizer_json(dir_.path(), false);
  prefix["pre_tokenizer"]["add_prefix_space"] = true;
  std::ofstream(path) << prefix;
  EXPECT_ERROR_MENTIONS(load_gpt2_tokenizer(other.path()), "uses add_prefix_space");
  json bad_merge = tokenizer_json(dir_.path(), false);
  bad_merge["model"]["merges"][3] = 7;
  std::ofstream(path) << bad_merge;
  EXPECT_ERROR_MENTIONS(load_gpt2_tokenizer(other.path()),
                        "model.merges[3] (\"7\") is not two tokens");
}

TEST_F(BpeTokenizer, BadFilesNameTheProblem) {
  const std::string vocab = dir_.path() + "/vocab.json", merges = dir_.path() + "/merges.txt";
  std::ofstream(merges, std::ios::app) << "one_token_only\n";
  EXPECT_ERROR_MENTIONS(load_gpt2_tokenizer(dir_.path()),
                        "line 32 (\"one_token_only\") is not two tokens separated by a space");
  std::ofstream(merges) << "#version: 0.2\na b\n";
  std::ofstream(vocab) << "[\"a\", \"b\"]";
  EXPECT_ERROR_MENTIONS(load_gpt2_tokenizer(dir_.path()), "is not a JSON object of token ids");
  std::ofstream(vocab) << R"({"a": -1})";
  EXPECT_ERROR_MENTIONS(load_gpt2_tokenizer(dir_.path()), "token \"a\" has id -1");
  // An id far beyond the vocabulary's size would allocate a table of 2^24.
  std::ofstream(vocab) << R"({"a": 0, "b": 16777000})";
  EXPECT_ERROR_MENTIONS(load_gpt2_tokenizer(dir_.path()),
                        "token \"b\" has id 16777000, not an integer in [0, 65538)");
  // tokenizer.json fields of the wrong type name the field.
  std::filesystem::remove(vocab);
  std::filesystem::remove(merges);
  std::ofstream(dir_.path() + "/tokenizer.json") << R"({"model": {"type": 5}})";
  EXPECT_ERROR_MENTIONS(load_gpt2_tokenizer(dir_.path()), "field 'type' must be a string, not 5");
  std::ofstream(dir_.path() + "/tokenizer.json")
      << R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": {"x": 1}},)"
      << R"( "pre_tokenizer": {"type": "ByteLevel"}})";
  EXPECT_ERROR_MENTIONS(load_gpt2_tokenizer(dir_.path()), "model.merges that is not an array");
  std::filesystem::remove(dir_.path() + "/tokenizer.json");
  std::ofstream(merges) << "#version: 0.2\na b\n";
  std::ofstream(vocab) << R"({"a": 0})";
  EXPECT_ERROR_MENTIONS(load_gpt2_tokenizer(dir_.path())->encode("b"),
                        "the vocabulary has no token \"b\"");
  std::filesystem::remove(vocab);
  EXPECT_ERROR_MENTIONS(load_gpt2_tokenizer(dir_.path()), "cannot read GPT-2 vocabulary");
}

}  // namespace
}  // namespace detllm
