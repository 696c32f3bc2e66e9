// The family-traits table: one row per model_type the built-in engine runs.
#include "detllm_test/model_family.h"

namespace detllm {

const std::vector<ModelFamily>& model_families() {
  using B = ModelFamily::Biases;
  using E = ModelFamily::Experts;
  using G = ModelFamily::Gemma;
  // clang-format off
  static const std::vector<ModelFamily> families = {
    // model_type     architecture             llama  rope theta  biases            qk_norm mlp_bias no_sw  sw_key fused  experts        gemma
    {"gpt2",        "GPT2LMHeadModel",        false, 10000.0,   B::kAttentionBias, false, false, false, false, false, E::kNone,       G::kNone},
    {"llama",       "LlamaForCausalLM",       true,  10000.0,   B::kAttentionBias, false, true,  false, false, false, E::kNone,       G::kNone},
    {"mistral",     "MistralForCausalLM",     true,  10000.0,   B::kAttentionBias, false, true,  false, true,  false, E::kNone,       G::kNone},
    {"qwen2",       "Qwen2ForCausalLM",       true,  10000.0,   B::kQkv,           false, false, true,  false, false, E::kNone,       G::kNone},
    {"qwen3",       "Qwen3ForCausalLM",       true,  10000.0,   B::kAttentionBias, true,  false, true,  false, false, E::kNone,       G::kNone},
    {"phi3",        "Phi3ForCausalLM",        true,  10000.0,   B::kAttentionBias, false, true,  false, true,  true,  E::kNone,       G::kNone},
    {"qwen3_moe",   "Qwen3MoeForCausalLM",    true,  10000.0,   B::kAttentionBias, true,  false, true,  false, false, E::kQwen,       G::kNone},
    {"qwen2_moe",   "Qwen2MoeForCausalLM",    true,  10000.0,   B::kQkvFlag,       false, false, true,  false, false, E::kQwenShared, G::kNone},
    {"mixtral",     "MixtralForCausalLM",     true,  10000.0,   B::kAttentionBias, false, true,  false, true,  false, E::kMixtral,    G::kNone},
    {"gemma2",      "Gemma2ForCausalLM",      true,  10000.0,   B::kAttentionBias, false, false, false, false, false, E::kNone,       G::kGemma2},
    {"gemma3_text", "Gemma3ForCausalLM",      true,  1000000.0, B::kAttentionBias, true,  false, false, false, false, E::kNone,       G::kGemma3},
  };
  // clang-format on
  return families;
}

const ModelFamily* find_model_family(const std::string& model_type) {
  for (const ModelFamily& family : model_families()) {
    if (model_type == family.model_type) return &family;
  }
  return nullptr;
}

}  // namespace detllm
