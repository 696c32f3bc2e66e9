// Internal: a model file that computes logits [B, T, V] over whole sequences
// and keeps no cache (TorchScript archives, AOTInductor packages): decoding
// runs the whole sequence again at each step, scoring is one forward pass.
#ifndef DETLLM_SRC_MODELS_WHOLE_SEQUENCE_MODEL_H_
#define DETLLM_SRC_MODELS_WHOLE_SEQUENCE_MODEL_H_

#include <ATen/ATen.h>

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "detllm_test/models.h"
#include "models/decoding.h"

namespace detllm::internal {

class WholeSequenceModel : public Generator, private LogitsModel {
 public:
  ModelInfo info() const override { return info_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  std::optional<SequenceScores> score(const TokenIds& sequence, size_t prompt_length) override;
  std::vector<Generation> generate(const std::vector<TokenIds>& batch,
                                   const GenerationConfig& config) override;

 protected:
  // `kind` names the model in errors ("TorchScript model"); `backend` is
  // ModelInfo::backend. Fills info_ from the file at `path`.
  WholeSequenceModel(const std::string& kind, const std::string& backend, const std::string& path,
                     const ModelOptions& options, std::shared_ptr<const Tokenizer> tokenizer);

  // The logits [B, T, V] for ids and mask [B, T] (int64, 1 = real token);
  // their shape is checked here.
  virtual at::Tensor forward(const at::Tensor& ids, const at::Tensor& mask) = 0;
  // What went wrong inside forward on `ids`, after "<kind> '<path>' ".
  virtual std::string failure(const std::exception& error, const at::Tensor& ids) const = 0;

  // "TorchScript model 'model.pt'": the start of every error about it.
  std::string named() const { return kind_ + " '" + info_.name + "'"; }

  const at::Device device_;
  ModelInfo info_;

 private:
  at::Tensor prefill(const at::Tensor& ids, const at::Tensor& mask) override;
  at::Tensor step(const at::Tensor& next_ids, const at::Tensor& mask) override;
  // forward() over ids_, its shape checked.
  at::Tensor logits_of(const at::Tensor& mask);
  // Runs `body`, turning a library's exception into a detllm::Error.
  template <typename F>
  auto guarded(F body) -> decltype(body());

  std::string kind_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  at::Tensor ids_;
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_MODELS_WHOLE_SEQUENCE_MODEL_H_
