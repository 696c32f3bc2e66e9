// Internal: the built-in engine's normalisations and Gemma's soft-capping, as
// transformers computes them (which dtype each step runs in matters bitwise).
#ifndef DETLLM_SRC_MODELS_TENSOR_OPS_H_
#define DETLLM_SRC_MODELS_TENSOR_OPS_H_

#include <ATen/ATen.h>

namespace detllm::internal {

// RMSNorm: in float32, scaled by the weight in the model's dtype.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double epsilon);
// Gemma's RMSNorm: scaled by (1 + w) in float32, then cast (Llama casts first).
at::Tensor gemma_rms_norm(const at::Tensor& x, const at::Tensor& weight, double epsilon);
// cap * tanh(x / cap): Gemma's soft-capping of attention scores and logits.
at::Tensor soft_cap(const at::Tensor& x, double cap);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_MODELS_TENSOR_OPS_H_
