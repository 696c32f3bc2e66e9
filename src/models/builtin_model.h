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

// The parameters, named and laid out as GPT-2's (Conv1D weights are [in, out]).
struct BuiltinWeights {
  struct Block {
    at::Tensor ln_1_weight, ln_1_bias, attn_weight, attn_bias, attn_proj_weight, attn_proj_bias,
        ln_2_weight, ln_2_bias, fc_weight, fc_bias, mlp_proj_weight, mlp_proj_bias;
  };
  at::Tensor wte, wpe, ln_f_weight, ln_f_bias;
  std::vector<Block> blocks;
  at::Tensor lm_head;  // [vocab, n_embd]; undefined when tied to wte, as in GPT-2

  // (GPT-2 name, tensor) for every parameter, e.g. ("h.0.attn.c_attn.weight", ...),
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
  // For a checkpoint: its name and the files it was loaded from.
  void set_source(std::string name, std::vector<ModelFile> files);
  // Float32 logits [V] of the token after `ids`, for comparing with other
  // implementations (scripts/compare_transformers.py).
  at::Tensor next_token_logits(const TokenIds& ids);
  // The parameters as float32 on the CPU, for saving.
  BuiltinWeights cpu_float_weights() const;

 private:
  at::Tensor prefill(const at::Tensor& ids, const at::Tensor& mask) override;
  at::Tensor step(const at::Tensor& next_ids, const at::Tensor& mask) override;
  // Logits [B, V] of the last position, or [B, T, V] of every position.
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& positions, const at::Tensor& allowed,
                     bool every_position = false);

  BuiltinConfig config_;
  ModelInfo info_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  at::Device device_;
  at::ScalarType dtype_;
  std::string gelu_approximation_;  // at::gelu's "tanh" or "none"
  BuiltinWeights weights_;
  std::vector<at::Tensor> cache_k_, cache_v_;  // per layer: [B, H, T, D]
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_MODELS_BUILTIN_MODEL_H_
