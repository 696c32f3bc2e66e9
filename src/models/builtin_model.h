// Internal: the built-in reference transformer, shared by its factory and by
// the weight save/load functions that live with the TorchScript code.
#ifndef DETLLM_SRC_MODELS_BUILTIN_MODEL_H_
#define DETLLM_SRC_MODELS_BUILTIN_MODEL_H_

#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

#include "detllm_test/models.h"
#include "models/decoding.h"

namespace detllm::internal {

// The parameters. GPT-2's are named and laid out as GPT-2's (Conv1D weights
// are [in, out]); the Llama architecture's as LlamaForCausalLM's (Linear
// weights are [out, in]), reusing ln_1/ln_2 (input/post_attention_layernorm),
// attn_proj (o_proj), wte (embed_tokens) and ln_f (norm). Optional biases are
// undefined when the config has none.
struct BuiltinWeights {
  struct Block {
    at::Tensor ln_1_weight, ln_1_bias, attn_weight, attn_bias, attn_proj_weight, attn_proj_bias,
        ln_2_weight, ln_2_bias, fc_weight, fc_bias, mlp_proj_weight, mlp_proj_bias;
    at::Tensor q_weight, q_bias, k_weight, k_bias, v_weight, v_bias, gate_weight, up_weight,
        down_weight;                          // Llama architecture
    at::Tensor q_norm_weight, k_norm_weight;  // Qwen3: per-head RMSNorm of q and k
    at::Tensor qkv_weight, gate_up_weight;    // Phi-3: q|k|v and gate|up, fused
    // Gemma: around the MLP (post_attention_layernorm, ln_2, is after the attention).
    at::Tensor pre_mlp_norm_weight, post_mlp_norm_weight;
    // A sparse layer's experts (one tensor each per expert) and their router.
    at::Tensor router_weight;
    std::vector<at::Tensor> expert_gate, expert_up, expert_down;
    // Qwen2-MoE: the shared expert, and the gate that scales it per token.
    at::Tensor shared_gate_weight, shared_up_weight, shared_down_weight, shared_expert_gate_weight;
  };
  bool llama = false;
  bool mixtral = false;  // Mixtral's names for the experts (block_sparse_moe.*, w1/w2/w3)
  at::Tensor wte, wpe, ln_f_weight, ln_f_bias;
  std::vector<Block> blocks;
  at::Tensor lm_head;  // [vocab, n_embd]; undefined when tied to wte

  // (checkpoint name, tensor) for every defined parameter, e.g.
  // ("h.0.attn.c_attn.weight", ...) or ("model.layers.0.self_attn.q_proj.weight", ...),
  // lm_head last when it is defined.
  std::vector<std::pair<std::string, at::Tensor*>> named();
  // The expected shape of every parameter for `config`, in named() order.
  static BuiltinWeights empty_like(const BuiltinConfig& config);
};

// Weights drawn on the CPU in float32 from config.weight_seed, so they are the
// same on every machine and device.
BuiltinWeights random_weights(const BuiltinConfig& config);

class BuiltinModel final : public Generator, private LogitsModel {
 public:
  BuiltinModel(BuiltinConfig config, const ModelOptions& options, BuiltinWeights weights,
               std::shared_ptr<const Tokenizer> tokenizer = byte_tokenizer());

  ModelInfo info() const override { return info_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  std::vector<Generation> generate(const std::vector<TokenIds>& batch,
                                   const GenerationConfig& config) override;
  std::optional<SequenceScores> score(const TokenIds& sequence, size_t prompt_length) override;

  const BuiltinConfig& config() const { return config_; }
  // For a checkpoint: its name, the files it was loaded from, its stop tokens.
  void set_source(std::string name, std::vector<ModelFile> files,
                  std::vector<int64_t> eos_token_ids = {});
  // Float32 logits [T, V] at every position of `ids`, from one forward pass
  // without the cache, for comparing with transformers (selftest/reference).
  at::Tensor sequence_logits(const TokenIds& ids);
  // The parameters as float32 on the CPU, for saving.
  BuiltinWeights cpu_float_weights() const;

 private:
  // Logits [T, V] of one causal pass over `ids` from position 0, on the device.
  at::Tensor logits_without_cache(const TokenIds& ids);
  at::Tensor prefill(const at::Tensor& ids, const at::Tensor& mask) override;
  at::Tensor step(const at::Tensor& next_ids, const at::Tensor& mask) override;
  // Logits [B, V] of the last position, or [B, T, V] of every position.
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& positions, const at::Tensor& allowed,
                     bool every_position = false);
  // Attention of layer `layer` through its KV cache: q [B, H, T, D], this
  // pass's k and v [B, KV, T, D]; returns [B * T, H * D].
  at::Tensor attend(size_t layer, const at::Tensor& q, const at::Tensor& k_new,
                    const at::Tensor& v_new, const at::Tensor& allowed);
  void reset_cache();  // an empty cache for every layer
  void drop_cache();   // frees it
  // The Llama architecture's blocks, [B, T, C] in and out.
  at::Tensor llama_blocks(at::Tensor x, const at::Tensor& positions, const at::Tensor& allowed);
  at::Tensor gpt2_blocks(at::Tensor x, const at::Tensor& allowed);
  at::Tensor swiglu(const BuiltinWeights::Block& w, const at::Tensor& h, int layer);
  // A sparse layer's MLP: h [B, T, C] through its routed (and shared) experts.
  at::Tensor experts(const BuiltinWeights::Block& w, const at::Tensor& h, int layer);
  // cos and sin [B, 1, T, head_dim] of the rotary embedding at `positions`
  // [B, T]; `local`: of Gemma 3's sliding layers (local_inv_freq_).
  std::pair<at::Tensor, at::Tensor> rotary(const at::Tensor& positions, bool local = false) const;
  // RMSNorm as the architecture computes it (Gemma's (1 + w) or Llama's).
  at::Tensor norm(const at::Tensor& x, const at::Tensor& weight) const;
  // `allowed` [B, 1, T, S] narrowed to the sliding window, when there is one.
  at::Tensor within_window(const at::Tensor& allowed) const;

  BuiltinConfig config_;
  ModelInfo info_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  at::Device device_;
  at::ScalarType dtype_;
  std::string gelu_approximation_;  // at::gelu's "tanh" or "none"
  int64_t head_dim_ = 0;
  at::Tensor inv_freq_;        // float32 [head_dim / 2] on the device, after rope scaling
  at::Tensor local_inv_freq_;  // Gemma 3's sliding layers'; undefined for the others
  at::Tensor long_inv_freq_;   // LongRoPE's past the original context; undefined for the others
  BuiltinWeights weights_;
  // Per layer: [B, KV, capacity, D], of which the first cache_length_ positions are filled.
  std::vector<at::Tensor> cache_k_, cache_v_;
  std::vector<int64_t> cache_length_;
  at::Tensor seen_ids_;  // LongRoPE: the batch's ids so far, to run again at the switch
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_MODELS_BUILTIN_MODEL_H_
