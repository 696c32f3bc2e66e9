// detllm::artifacts — the shape of a transformer checkpoint (BuiltinConfig,
// with config.json's field names) and the built-in presets: plain data, read
// from config.json without libtorch; the core builds models from it.
#ifndef DETLLM_TEST_MODEL_CONFIG_H_
#define DETLLM_TEST_MODEL_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "detllm_test/model_family.h"

namespace detllm {

// How rotary position embeddings stretch beyond the trained context, as
// config.json's rope_scaling (Llama architecture only).
struct RopeScaling {
  // "default" (none), "linear" (positions divided by factor), "dynamic" (NTK:
  // the base grows once a forward pass reaches past n_positions), "llama3"
  // (Llama 3.1's per-frequency blend) or "yarn" (YaRN: interpolated and
  // extrapolated frequencies blended by a ramp, cos and sin scaled; Qwen3's
  // long context) or "longrope" (Phi-3's 128k and Phi-3.5: each frequency
  // divided by short_factor, or by long_factor once a forward pass reaches
  // past original_max_position_embeddings; cos and sin scaled).
  std::string type = "default";
  double factor = 1.0;
  double low_freq_factor = 1.0;                     // llama3
  double high_freq_factor = 4.0;                    // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3, yarn, longrope
  double beta_fast = 32, beta_slow = 1;             // yarn: the ramp's bounds, in rotations
  bool truncate = true;                             // yarn: the ramp's bounds rounded outwards
  // yarn, longrope: cos and sin are multiplied by this; 0: from factor (and
  // mscale, mscale_all_dim when both are given), as transformers infers it.
  double attention_factor = 0;
  double mscale = 0, mscale_all_dim = 0;
  std::vector<double> short_factor, long_factor;  // longrope: one per frequency (head_dim / 2)
};

// Shape of the built-in reference transformer, with the field names of GPT-2's
// config.json. model_type picks the blocks: "gpt2" (learned positions,
// LayerNorm, GELU MLP), or one of the Llama architecture's (rotary positions,
// RMSNorm, grouped-query attention, SwiGLU MLP or experts; llama_architecture_types()),
// whose own config.json names map onto these fields (hidden_size -> n_embd, num_hidden_layers ->
// n_layer, intermediate_size -> n_inner, rms_norm_eps -> layer_norm_epsilon, ...).
struct BuiltinConfig {
  std::string preset = "custom";
  std::string model_type = "gpt2";
  int64_t vocab_size = 256;
  int64_t n_positions = 256;
  int64_t n_embd = 64;
  int64_t n_layer = 2;
  int64_t n_head = 2;
  double layer_norm_epsilon = 1e-5;
  int64_t n_inner = 0;  // width of the MLP; 0 means 4 * n_embd
  // "gelu_new" (GPT-2's tanh approximation, also "gelu_pytorch_tanh") or
  // "gelu" for GPT-2; "silu" for the Llama architecture.
  std::string activation_function = "gelu_new";
  // The head is the token embedding (GPT-2 always; Llama-architecture configs
  // say so in tie_word_embeddings).
  bool tie_word_embeddings = true;

  // Llama architecture only.
  int64_t n_kv_head = 0;  // num_key_value_heads (grouped-query attention); 0: n_head
  int64_t head_dim = 0;   // 0: n_embd / n_head
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool attention_bias = false;         // biases on q, k and v (Qwen2; Llama's attention_bias)
  bool attention_output_bias = false;  // a bias on o_proj (Llama's attention_bias)
  // Qwen3: q and k are RMS-normalised per head (q_norm, k_norm over
  // head_dim) before the rotary embedding.
  bool qk_norm = false;
  // Mistral: each position attends to at most this many latest positions
  // (itself included); 0: all of them.
  int64_t sliding_window = 0;

  // Mixture of experts (qwen3_moe, qwen2_moe, mixtral): a sparse layer's MLP
  // is n_experts SwiGLU experts of width moe_inner, of which a router (a
  // linear layer, softmax in float32) picks n_experts_per_token per token.
  int64_t n_experts = 0;            // num_experts (num_local_experts); 0: every layer dense
  int64_t n_experts_per_token = 0;  // num_experts_per_tok
  int64_t moe_inner = 0;            // moe_intermediate_size (Mixtral: intermediate_size)
  // The chosen experts' probabilities renormalised to sum to 1 (Mixtral always).
  bool norm_topk_prob = false;
  // Qwen2-MoE: a shared expert of this width for every token, scaled by
  // sigmoid(shared_expert_gate); 0: none.
  int64_t shared_expert_inner = 0;
  // Which layers are sparse: every decoder_sparse_step-th, except mlp_only_layers.
  int64_t decoder_sparse_step = 1;
  std::vector<int64_t> mlp_only_layers;

  // Gemma 2 and 3 (gemma()): embeddings scaled by sqrt(n_embd), RMSNorm by
  // (1 + w) in float32, norms before and after the attention and the MLP,
  // a tanh-GELU gated MLP (activation_function gelu_pytorch_tanh).
  // Scores scaled by query_pre_attn_scalar^-0.5 (0: head_dim^-0.5).
  double query_pre_attn_scalar = 0;
  // cap * tanh(x / cap) on the attention scores and the logits; 0: none.
  double attn_logit_softcapping = 0, final_logit_softcapping = 0;
  // Per layer, whether it is a sliding-window layer (config.json's
  // layer_types); empty: every layer uses sliding_window.
  std::vector<bool> sliding_layers;
  // Gemma 3: the sliding layers' rope base (default rope; rope_theta and
  // rope_scaling are the full-attention layers'); 0: the same rope as the others.
  double rope_local_theta = 0;

  // Weights are drawn from N(0, init_std^2) with this seed, so a preset needs no
  // download and is the same on every machine and device. The presets use a
  // larger init_std than GPT-2's 0.02 so that random blocks mix the sequence
  // instead of echoing the last token.
  uint64_t weight_seed = 0;
  double init_std = 0.02;
  // Standard deviation of the token embeddings (which are also the LM head):
  // larger than GPT-2's 0.02 so that random-weight logits have clear winners.
  double embedding_std = 1.0;

  // The model_types of the Llama architecture, from the family table
  // (model_family.h): llama, mistral, qwen2, qwen3, phi3, qwen3_moe, ...
  static const std::vector<std::string>& llama_architecture_types();
  // "gpt2, llama, ..., qwen2_moe or mixtral": every model_type supported, for errors.
  static std::string supported_model_types();
  bool is_llama_architecture() const;
  bool gemma() const;
  // The family-traits row of model_type (model_family.h); throws
  // detllm::Error for a model_type the engine does not run.
  const ModelFamily& family() const;
  // Whether layer `layer` attends through the sliding window.
  bool windowed_layer(int64_t layer) const;
  // Whether layer `layer`'s MLP is a mixture of experts.
  bool sparse_layer(int64_t layer) const;
  // Phi-3 stores q, k and v as one qkv_proj, and gate and up as one
  // gate_up_proj (each run as one matmul, then split).
  bool fused_projections() const;

  // `tiny`: 2 layers, width 64, byte vocabulary; a check runs in milliseconds.
  static BuiltinConfig tiny();
  // `small`: GPT-2-small shape (12 layers, 12 heads, width 768, 50257 tokens).
  static BuiltinConfig small();
  // `llama-tiny`: the Llama architecture at tiny's size (2 layers, width 64, 4
  // query and 2 key/value heads, untied head, byte vocabulary).
  static BuiltinConfig llama_tiny();
  // `llama-small`: SmolLM-135M's shape (30 layers, width 576, 9 query and 3
  // key/value heads, MLP 1536, 49152 tokens, tied head).
  static BuiltinConfig llama_small();
  // `qwen3-small`: Qwen3-0.6B's layer (width 1024, 16 query and 8 key/value
  // heads of 128, q/k norm, MLP 3072, 151936 tokens, tied head), 8 layers of it.
  static BuiltinConfig qwen3_small();
  // `moe-tiny`: qwen3_moe at llama-tiny's size: 8 experts of width 32, 2 per token.
  static BuiltinConfig moe_tiny();
  // `moe-small`: Qwen3-30B-A3B's routing (128 experts, 8 per token,
  // renormalised) on a narrower model: 8 layers of width 512, experts of 256.
  static BuiltinConfig moe_small();
  // The preset named `name` (one of preset_names()); throws detllm::Error otherwise.
  static BuiltinConfig preset_named(const std::string& name);
  static const std::vector<std::string>& preset_names();
};

}  // namespace detllm

#endif  // DETLLM_TEST_MODEL_CONFIG_H_
