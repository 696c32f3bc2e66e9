// Internal: the decoding loop shared by the libtorch models (built-in and
// TorchScript), over a step-wise logits interface.
#ifndef DETLLM_SRC_MODELS_DECODING_H_
#define DETLLM_SRC_MODELS_DECODING_H_

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "detllm_test/generator.h"
#include "detllm_test/models.h"
#include "models/device_dtype.h"

namespace detllm::internal {

// A model seen one decoding step at a time. Both calls return float logits
// [B, V] for the last position of every row.
class LogitsModel {
 public:
  virtual ~LogitsModel() = default;
  // ids, mask: [B, T] int64 on the model's device, left-padded (mask 0 = pad).
  virtual at::Tensor prefill(const at::Tensor& ids, const at::Tensor& mask) = 0;
  // next_ids: [B, 1]; mask: [B, T + 1], the full mask including the new token.
  virtual at::Tensor step(const at::Tensor& next_ids, const at::Tensor& mask) = 0;
};

// Greedy or seeded-sampling decoding of `batch` with `model`. Each request
// samples from its own generator seeded from (config.seed, its token ids), so
// its draws do not depend on its neighbours. Throws NonFiniteLogits for NaN or
// infinite logits, detllm::Error for logits of the wrong shape.
std::vector<Generation> decode(LogitsModel& model, const std::vector<TokenIds>& batch,
                               const GenerationConfig& config, const at::Device& device,
                               int64_t pad_id, const std::vector<int64_t>& model_eos = {});

// SequenceScores of `sequence` from its logits [T, V] (any dtype): position p's
// logits predict token p + 1, scored as decode() scores a step (float32
// log-softmax of the raw logits, top-1 minus top-2 margin).
SequenceScores scores_from_logits(const at::Tensor& logits, const TokenIds& sequence,
                                  size_t prompt_length);

// A libtorch error (c10::Error, or the traceback of an error raised inside
// TorchScript) as one line for a detllm::Error. When it is the alert of
// deterministic algorithms (an op without a deterministic kernel), it names the
// op and says what to do instead:
//   "index_add_cuda_ has no deterministic kernel on this device (libtorch: ...);
//    use a deterministic formulation (for index_add_/scatter_add_: ...) ..."
std::string describe_torch_error(const std::exception& error);

// The first line of a library's error text (libtorch's carry backtraces).
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// "[2, 5, 256]".
std::string shape_of(at::IntArrayRef sizes);
std::string shape_of(const at::Tensor& tensor);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_MODELS_DECODING_H_
