// What scripts/gpt2_reference.py and scripts/compare_transformers.py compare
// with GPT-2's reference implementations:
//   detllm_dump_gpt2 tokens <dir> <strings.json> <out.json>
//     the token ids of every string, with the tokenizer of a directory
//     (load_hf_tokenizer: tokenizer.json, or vocab.json and merges.txt);
//   detllm_dump_gpt2 model <dir> <device> <dtype> <prompts.json> <new tokens> <out.json>
//     for every prompt of a checkpoint (GPT-2, Llama, Mistral, Qwen2), its token ids, next-token
//     logits, and a greedy generation with its top-1/top-2 margins.
// The .json inputs are JSON arrays of strings.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "detllm_test/determinism.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "models/builtin_model.h"

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

json dump_model(const std::string& dir, const std::string& device, const std::string& dtype,
                const std::string& prompts, int new_tokens) {
  detllm::DeterminismScope controls(detllm::DeterminismOptions{}, device);
  auto model = detllm::load_hf_model(dir, {device, dtype});
  auto& builtin = dynamic_cast<detllm::internal::BuiltinModel&>(*model);
  detllm::GenerationConfig greedy;
  greedy.max_new_tokens = new_tokens;
  json out = {{"prompts", json::array()}};
  for (const json& text : detllm::internal::read_json_file(prompts, "prompts")) {
    const detllm::TokenIds ids = model->tokenizer().encode(text.get<std::string>());
    const at::Tensor logits = builtin.next_token_logits(ids);
    const detllm::Generation generated = model->generate({ids}, greedy)[0];
    const float* values = logits.data_ptr<float>();
    out["prompts"].push_back({{"ids", ids},
                              {"logits", std::vector<float>(values, values + logits.numel())},
                              {"tokens", generated.tokens},
                              {"margins", generated.logit_margins}});
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
    } else if (args.size() == 7 && args[0] == "model") {
      out = dump_model(args[1], args[2], args[3], args[4], std::stoi(args[5]));
    } else {
      std::cerr << "usage: detllm_dump_gpt2 tokens <dir> <strings.json> <out.json>\n"
                   "       detllm_dump_gpt2 model <dir> <device> <dtype> <prompts.json> "
                   "<new tokens> <out.json>\n";
      return 2;
    }
    std::ofstream(args.back()) << detllm::internal::dump(out);
  } catch (const std::exception& e) {
    std::cerr << "detllm_dump_gpt2: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
