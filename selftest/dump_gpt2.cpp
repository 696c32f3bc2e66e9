// What scripts/compare_transformers.py compares with transformers: for a GPT-2
// checkpoint directory, the token ids of every string, and for every prompt the
// next-token logits and a greedy generation.
//   detllm_dump_gpt2 <model dir> <device> <dtype> <strings.json> <prompts.json> <new tokens> <out.json>
// strings.json and prompts.json are JSON arrays of strings.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "detllm_test/determinism.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "internal/builtin_model.h"
#include "internal/json_io.h"

int main(int argc, char** argv) {
  using nlohmann::json;
  if (argc != 8) {
    std::cerr << "usage: detllm_dump_gpt2 <model dir> <device> <dtype> <strings.json> "
                 "<prompts.json> <new tokens> <out.json>\n";
    return 2;
  }
  detllm::prepare_process_environment();
  try {
    detllm::DeterminismScope controls(detllm::DeterminismOptions{}, argv[2]);
    auto model = detllm::load_gpt2_model(argv[1], {argv[2], argv[3]});
    auto& builtin = dynamic_cast<detllm::internal::BuiltinModel&>(*model);
    const detllm::Tokenizer& tokenizer = model->tokenizer();
    json out = {{"tokenizer_id", tokenizer.id()}, {"strings", json::array()}, {"prompts", json::array()}};
    for (const json& text : detllm::internal::read_json_file(argv[4], "strings")) {
      out["strings"].push_back(tokenizer.encode(text.get<std::string>()));
    }
    detllm::GenerationConfig greedy;
    greedy.max_new_tokens = std::stoi(argv[6]);
    for (const json& text : detllm::internal::read_json_file(argv[5], "prompts")) {
      const detllm::TokenIds ids = tokenizer.encode(text.get<std::string>());
      const at::Tensor logits = builtin.next_token_logits(ids);
      const detllm::Generation generated = model->generate({ids}, greedy)[0];
      out["prompts"].push_back({{"ids", ids},
                                {"logits", std::vector<float>(logits.data_ptr<float>(),
                                                              logits.data_ptr<float>() + logits.numel())},
                                {"tokens", generated.tokens},
                                {"margins", generated.logit_margins}});
    }
    std::ofstream(argv[7]) << detllm::internal::dump(out);
  } catch (const std::exception& e) {
    std::cerr << "detllm_dump_gpt2: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
