// The self-tests' torch-free helpers (test_files.h).
#include "test_files.h"

#include <filesystem>
#include <fstream>
#include <random>

#include "artifacts/file_util.h"

namespace detllm::testing {

// GPT-2's bytes_to_unicode, written out independently of the library's.
std::string gpt2_byte_symbol(unsigned char byte) {
  char32_t next = 256, symbol = 0;
  for (int b = 0; b <= byte; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    symbol = printable ? static_cast<char32_t>(b) : next++;
  }
  std::string utf8;
  if (symbol < 0x80) {
    utf8 += static_cast<char>(symbol);
  } else {
    utf8 += static_cast<char>(0xC0 | (symbol >> 6));
    utf8 += static_cast<char>(0x80 | (symbol & 0x3F));
  }
  return utf8;
}

int64_t gpt2_byte_id(unsigned char byte) {
  // GPT-2's vocabulary lists the printable bytes first, then the others.
  const auto printable = [](int b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  };
  int64_t id = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (int b = 0; b < 256; ++b) {
      if (printable(b) != (pass == 0)) continue;
      if (b == byte) return id;
      ++id;
    }
  }
  return -1;
}

int64_t write_bpe_files(const std::string& dir,
                        const std::vector<std::pair<std::string, std::string>>& merges) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) {
    vocab[gpt2_byte_symbol(static_cast<unsigned char>(b))] =
        gpt2_byte_id(static_cast<unsigned char>(b));
  }
  std::ofstream merges_file(dir + "/merges.txt");
  merges_file << "#version: 0.2\n";
  for (const auto& [a, b] : merges) {
    merges_file << a << " " << b << "\n";
    if (!vocab.contains(a + b)) vocab[a + b] = vocab.size();
  }
  vocab["<|endoftext|>"] = vocab.size();
  std::ofstream(dir + "/vocab.json") << vocab.dump();
  return static_cast<int64_t>(vocab.size());
}

nlohmann::json tiny_llama_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b)
    vocab[gpt2_byte_symbol(static_cast<unsigned char>(b))] = gpt2_byte_id(b);
  const char* kLlama3Split =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  return {
      {"version", "1.0"},
      {"added_tokens",
       {{{"id", 256}, {"content", "<|begin_of_text|>"}, {"special", true}},
        {{"id", 257}, {"content", "<|end_of_text|>"}, {"special", true}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", kLlama3Split}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens",
         {{"<|begin_of_text|>",
           {{"id", "<|begin_of_text|>"}, {"ids", {256}}, {"tokens", {"<|begin_of_text|>"}}}}}}}},
      {"model",
       {{"type", "BPE"},
        {"ignore_merges", true},
        {"vocab", vocab},
        {"merges", nlohmann::json::array()}}}};
}

TempDir::TempDir() {
  std::random_device entropy;
  path_ = (std::filesystem::temp_directory_path() /
           ("detllm_selftest_" + std::to_string(entropy()) + std::to_string(entropy())))
              .string();
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() { internal::remove_tree(path_); }

}  // namespace detllm::testing
