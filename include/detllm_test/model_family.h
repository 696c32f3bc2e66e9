// detllm::artifacts — the model families the built-in engine runs, one row
// each: what sets a family apart (its config.json keys, its attention, its
// MLP or experts), declared once, so that the config reader, the weight
// table and the engine read traits, never a model_type name.
#ifndef DETLLM_TEST_MODEL_FAMILY_H_
#define DETLLM_TEST_MODEL_FAMILY_H_

#include <string>
#include <vector>

namespace detllm {

struct ModelFamily {
  // Where the attention's biases come from.
  enum class Biases {
    kAttentionBias,  // attention_bias puts biases on q, k, v and o alike (default false)
    kQkv,            // q, k and v always, o never (Qwen2)
    kQkvFlag,        // q, k and v when qkv_bias says so (default true), o never (Qwen2-MoE)
  };
  // The mixture of experts, if any, and how its config names it.
  enum class Experts {
    kNone,
    kQwen,        // num_experts, moe_intermediate_size, decoder_sparse_step, mlp_only_layers
    kQwenShared,  // kQwen plus a shared expert (shared_expert_intermediate_size)
    kMixtral,     // num_local_experts of intermediate_size, always renormalised,
                  // routing weights kept in float32
  };
  // Gemma's blocks: tanh-GELU GLU, embeddings scaled, (1 + w) RMSNorm,
  // softcapping, sliding layers by pattern.
  enum class Gemma { kNone, kGemma2, kGemma3 };

  const char* model_type;    // "qwen2", as config.json names it
  const char* architecture;  // "Qwen2ForCausalLM", as transformers names the class
  bool llama_architecture;   // rotary positions, RMSNorm, GQA, gated MLP (all but GPT-2)
  double default_rope_theta;
  Biases biases;
  bool qk_norm;             // q and k normalised per head
  bool refuses_mlp_bias;    // config.json's mlp_bias must be false
  bool no_sliding_window;   // use_sliding_window must be false (and is written so)
  bool sliding_window_key;  // sliding_window applies to every layer (0/null: none)
  bool fused_projections;   // qkv_proj and gate_up_proj, each one matmul then split
  Experts experts;
  Gemma gemma;
};

// Every family, GPT-2 first.
const std::vector<ModelFamily>& model_families();
// The family of `model_type`, or nullptr for one the engine does not run.
const ModelFamily* find_model_family(const std::string& model_type);

}  // namespace detllm

#endif  // DETLLM_TEST_MODEL_FAMILY_H_
