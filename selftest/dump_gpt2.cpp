// What scripts/gpt2_reference.py compares with OpenAI's GPT-2 encoder:
//   detllm_dump_gpt2 tokens <dir> <strings.json> <out.json>
//     the token ids of every string (a JSON array of strings), with the
//     tokenizer of a directory (load_hf_tokenizer: tokenizer.json, or
//     vocab.json and merges.txt).
// Comparisons with transformers and tokenizers are selftest/reference/.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "detllm_test/determinism.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"

namespace {

using nlohmann::json;

json dump_tokens(const std::string& dir, const std::string& strings) {
  auto tokenizer = detllm::load_hf_tokenizer(dir);
  json out = {{"tokenizer_id", tokenizer->id()}, {"strings", json::array()}};
  for (const json& text : detllm::internal::read_json_file(strings, "strings")) {
    out["strings"].push_back(tokenizer->encode(text.get<std::string>()));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  detllm::prepare_process_environment();
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    json out;
    if (args.size() == 4 && args[0] == "tokens") {
      out = dump_tokens(args[1], args[2]);
    } else {
      std::cerr << "usage: detllm_dump_gpt2 tokens <dir> <strings.json> <out.json>\n";
      return 2;
    }
    std::ofstream(args.back()) << detllm::internal::dump(out);
  } catch (const std::exception& e) {
    std::cerr << "detllm_dump_gpt2: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
