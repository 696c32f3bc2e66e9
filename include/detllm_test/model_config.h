// detllm::artifacts — the shape of a transformer checkpoint (BuiltinConfig,
// with config.json's field names) and the built-in presets: plain data, read
// from config.json without libtorch; the core builds models from it.
#ifndef DETLLM_TEST_MODEL_CONFIG_H_
#define DETLLM_TEST_MODEL_CONFIG_H_

#include <cstdint>
#include <string>

namespace detllm {

// How rotary position embeddings stretch beyond the trained context, as
// config.json's rope_scaling (Llama architecture only).
struct RopeScaling {
  // "default" (none), "linear" (positions divided by factor), "dynamic" (NTK:
  // the base grows once a forward pass reaches past n_positions), "llama3"
  // (Llama 3.1's per-frequency blend) or "yarn" (YaRN: interpolated and
  // extrapolated frequencies blended by a ramp, cos and sin scaled; Qwen3's
  // long context).
  std::string type = "default";
  double factor = 1.0;
  double low_freq_factor = 1.0;                     // llama3
  double high_freq_factor = 4.0;                    // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3, yarn
  double beta_fast = 32, beta_slow = 1;             // yarn: the ramp's bounds, in rotations
  bool truncate = true;                             // yarn: the ramp's bounds rounded outwards
  // yarn: cos and sin are multiplied by this; 0: from factor (and mscale,
  // mscale_all_dim when both are given), as transformers infers it.
  double attention_factor = 0;
  double mscale = 0, mscale_all_dim = 0;
};

// Shape of the built-in reference transformer, with the field names of GPT-2's
// config.json. model_type picks the blocks: "gpt2" (learned positions,
// LayerNorm, GELU MLP), or "llama", "mistral", "qwen2", "qwen3" and "phi3" (rotary positions,
// RMSNorm, grouped-query attention, SwiGLU MLP), whose own config.json names
// map onto these fields (hidden_size -> n_embd, num_hidden_layers -> n_layer,
// intermediate_size -> n_inner, rms_norm_eps -> layer_norm_epsilon, ...).
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

  // Weights are drawn from N(0, init_std^2) with this seed, so a preset needs no
  // download and is the same on every machine and device. The presets use a
  // larger init_std than GPT-2's 0.02 so that random blocks mix the sequence
  // instead of echoing the last token.
  uint64_t weight_seed = 0;
  double init_std = 0.02;
  // Standard deviation of the token embeddings (which are also the LM head):
  // larger than GPT-2's 0.02 so that random-weight logits have clear winners.
  double embedding_std = 1.0;

  // True for llama, mistral, qwen2, qwen3 and phi3.
  bool is_llama_architecture() const {
    return model_type == "llama" || model_type == "mistral" || model_type == "qwen2" ||
           model_type == "qwen3" || model_type == "phi3";
  }
  // Phi-3 stores q, k and v as one qkv_proj, and gate and up as one
  // gate_up_proj (each run as one matmul, then split).
  bool fused_projections() const { return model_type == "phi3"; }

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
  // The preset named `name` ("tiny", "small", "llama-tiny" or "llama-small");
  // throws detllm::Error otherwise.
  static BuiltinConfig preset_named(const std::string& name);
};

}  // namespace detllm

#endif  // DETLLM_TEST_MODEL_CONFIG_H_
