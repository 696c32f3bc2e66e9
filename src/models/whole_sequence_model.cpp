// The base of model files without a cache (TorchScript, AOTInductor): decoding
// runs the whole sequence each step, scoring is one forward pass.
#include "models/whole_sequence_model.h"

#include "artifacts/sha256.h"
#include "detllm_test/error.h"
#include "models/device_dtype.h"

namespace detllm::internal {

WholeSequenceModel::WholeSequenceModel(const std::string& kind, const std::string& backend,
                                       const std::string& path, const ModelOptions& options,
                                       std::shared_ptr<const Tokenizer> tokenizer)
    : device_(parse_device(options.device)), kind_(kind), tokenizer_(std::move(tokenizer)) {
  info_.name = path;
  info_.backend = backend;
  info_.file = path;
  info_.dtype = options.dtype;
  info_.device = device_.str();
  // file_sha256: set by the derived constructor, once it has opened the file.
}

template <typename F>
auto WholeSequenceModel::guarded(F body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error&) {
    throw;  // already says what went wrong (NonFiniteLogits, a shape error)
  } catch (const std::exception& e) {
    // c10::Error, torch::jit::JITException, the AOTInductor runtime's errors.
    throw Error(named() + " " + failure(e, ids_));
  }
}

std::optional<SequenceScores> WholeSequenceModel::score(const TokenIds& sequence,
                                                        size_t prompt_length) {
  c10::InferenceMode no_autograd;
  const auto n = static_cast<int64_t>(sequence.size());
  ids_ = at::tensor(sequence, at::kLong).view({1, n}).to(device_);
  return guarded([&] {
    return scores_from_logits(logits_of(at::ones_like(ids_))[0], sequence, prompt_length);
  });
}

std::vector<Generation> WholeSequenceModel::generate(const std::vector<TokenIds>& batch,
                                                     const GenerationConfig& config) {
  c10::InferenceMode no_autograd;
  return guarded([&] { return decode(*this, batch, config, device_, /*pad_id=*/0); });
}

at::Tensor WholeSequenceModel::prefill(const at::Tensor& ids, const at::Tensor& mask) {
  ids_ = ids;
  const at::Tensor logits = logits_of(mask);
  return logits.select(1, logits.size(1) - 1);
}

at::Tensor WholeSequenceModel::step(const at::Tensor& next_ids, const at::Tensor& mask) {
  ids_ = at::cat({ids_, next_ids}, 1);
  const at::Tensor logits = logits_of(mask);
  return logits.select(1, logits.size(1) - 1);
}

at::Tensor WholeSequenceModel::logits_of(const at::Tensor& mask) {
  const at::Tensor logits = forward(ids_, mask);
  if (logits.dim() != 3 || logits.size(0) != ids_.size(0) || logits.size(1) != ids_.size(1)) {
    throw Error(named() + " returned logits of shape " + shape_of(logits) +
                "; expected [B, T, V] = [" + std::to_string(ids_.size(0)) + ", " +
                std::to_string(ids_.size(1)) + ", V]");
  }
  info_.vocab_size = logits.size(2);
  return logits;
}

}  // namespace detllm::internal
