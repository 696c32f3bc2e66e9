// RMSNorm, Gemma's RMSNorm and soft-capping for the built-in engine.
#include "models/tensor_ops.h"

namespace detllm::internal {

// RMSNorm as transformers computes it: in float32, scaled by the weight in the
// model's dtype.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double epsilon) {
  const at::Tensor h = x.to(at::kFloat);
  const at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (h * at::rsqrt(variance + epsilon)).to(x.scalar_type());
}

// Gemma's RMSNorm: scaled by (1 + w) in float32, then cast (Llama casts first).
at::Tensor gemma_rms_norm(const at::Tensor& x, const at::Tensor& weight, double epsilon) {
  const at::Tensor h = x.to(at::kFloat);
  const at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  return ((h * at::rsqrt(variance + epsilon)) * (1.0 + weight.to(at::kFloat))).to(x.scalar_type());
}

// cap * tanh(x / cap): Gemma's soft-capping of attention scores and logits.
at::Tensor soft_cap(const at::Tensor& x, double cap) {
  return cap > 0 ? at::tanh(x / cap) * cap : x;
}

}  // namespace detllm::internal
