// Internal: the rotary position embedding of the built-in engine, as
// transformers computes it: the inverse frequencies of every rope type it
// supports (default, linear, dynamic, llama3, YaRN, LongRoPE), the factor
// YaRN and LongRoPE scale cos and sin by, and the rotation itself.
#ifndef DETLLM_SRC_MODELS_ROPE_H_
#define DETLLM_SRC_MODELS_ROPE_H_

#include <ATen/ATen.h>

#include "detllm_test/model_config.h"

namespace detllm::internal {

// What YaRN and LongRoPE multiply cos and sin by (1 for every other rope type).
double rope_attention_factor(const RopeScaling& r);

// The inverse frequencies, float32 [head_dim / 2] on the CPU, for a forward
// pass that reaches `seq_len` positions (only "dynamic" and "longrope" depend
// on it).
at::Tensor rope_frequencies(const BuiltinConfig& config, int64_t dim, int64_t seq_len);

// x * cos + rotate_half(x) * sin, rotate_half(x) = (-x2, x1).
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_MODELS_ROPE_H_
