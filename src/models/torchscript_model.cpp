// TorchScript models: any archive whose forward(input_ids[, attention_mask])
// returns logits.
#include <torch/script.h>

#include <filesystem>

#include "artifacts/sha256.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "models/builtin_model.h"
#include "models/decoding.h"
#include "models/torchscript_archive.h"

namespace detllm {
namespace {

using internal::first_line;
using internal::load_archive;

class TorchScriptModel final : public Generator, private internal::LogitsModel {
 public:
  TorchScriptModel(const std::string& path, const ModelOptions& options,
                   std::shared_ptr<const Tokenizer> tokenizer)
      : device_(internal::parse_device(options.device)),
        tokenizer_(std::move(tokenizer)),
        module_(load_archive(path, "TorchScript model", device_)) {
    auto forward = module_.find_method("forward");
    if (!forward) throw Error("TorchScript model '" + path + "' has no forward method");
    // The schema's arguments include `self`.
    const size_t arguments = forward->function().getSchema().arguments().size();
    if (arguments != 2 && arguments != 3) {
      throw Error("TorchScript model '" + path + "': forward takes " +
                  std::to_string(arguments - 1) +
                  " arguments; expected forward(input_ids[, attention_mask])");
    }
    takes_mask_ = arguments == 3;
    try {
      module_.eval();
      module_.to(internal::parse_dtype(options.dtype));
    } catch (const c10::Error& e) {
      throw Error("TorchScript model '" + path + "': cannot convert to " + options.dtype + ": " +
                  first_line(e.what_without_backtrace()));
    }
    info_.name = path;
    info_.backend = "torchscript";
    info_.file = path;
    info_.file_sha256 = internal::sha256_file(path);
    info_.dtype = options.dtype;
    info_.device = device_.str();
  }

  ModelInfo info() const override { return info_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }

  std::optional<SequenceScores> score(const TokenIds& sequence, size_t prompt_length) override {
    c10::InferenceMode no_autograd;
    const auto n = static_cast<int64_t>(sequence.size());
    ids_ = at::tensor(sequence, at::kLong).view({1, n}).to(device_);
    try {
      return internal::scores_from_logits(logits_of(at::ones_like(ids_))[0], sequence,
                                          prompt_length);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error("TorchScript model '" + info_.name +
                  "' failed in forward: " + internal::describe_torch_error(e));
    }
  }

  std::vector<Generation> generate(const std::vector<TokenIds>& batch,
                                   const GenerationConfig& config) override {
    c10::InferenceMode no_autograd;
    try {
      return internal::decode(*this, batch, config, device_, /*pad_id=*/0);
    } catch (const Error&) {
      throw;  // already says what went wrong (NonFiniteLogits, a shape error)
    } catch (const std::exception& e) {
      // c10::Error, or torch::jit::JITException for an error inside the script.
      throw Error("TorchScript model '" + info_.name +
                  "' failed in forward: " + internal::describe_torch_error(e));
    }
  }

 private:
  at::Tensor prefill(const at::Tensor& ids, const at::Tensor& mask) override {
    ids_ = ids;
    return run(mask);
  }
  at::Tensor step(const at::Tensor& next_ids, const at::Tensor& mask) override {
    ids_ = at::cat({ids_, next_ids}, 1);
    return run(mask);
  }

  // Runs the whole sequence (there is no cache) and returns the last position's
  // logits.
  at::Tensor run(const at::Tensor& mask) {
    const at::Tensor logits = logits_of(mask);
    return logits.select(1, logits.size(1) - 1);
  }

  // forward() over ids_: logits [B, T, V], checked.
  at::Tensor logits_of(const at::Tensor& mask) {
    std::vector<c10::IValue> inputs{ids_};
    if (takes_mask_) inputs.emplace_back(mask);
    const c10::IValue output = module_.forward(inputs);
    c10::IValue first = output;
    if (output.isTuple() && !output.toTupleRef().elements().empty()) {
      first = output.toTupleRef().elements()[0];
    } else if (output.isList() && output.toListRef().size() > 0) {
      first = output.toListRef()[0];
    } else if (output.isGenericDict() && output.toGenericDict().size() > 0) {
      first = output.toGenericDict().begin()->value();
    }
    if (!first.isTensor()) {
      throw Error("TorchScript model '" + info_.name + "': forward returned " + output.tagKind() +
                  "; expected logits [B, T, V] or a tuple, list or dict whose first value is");
    }
    const at::Tensor logits = first.toTensor();
    if (logits.dim() != 3 || logits.size(0) != ids_.size(0) || logits.size(1) != ids_.size(1)) {
      throw Error("TorchScript model '" + info_.name + "' returned logits of shape " +
                  internal::shape_of(logits) + "; expected [B, T, V] = [" +
                  std::to_string(ids_.size(0)) + ", " + std::to_string(ids_.size(1)) + ", V]");
    }
    info_.vocab_size = logits.size(2);
    return logits;
  }

  at::Device device_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  torch::jit::Module module_;
  bool takes_mask_ = true;
  ModelInfo info_;
  at::Tensor ids_;
};

}  // namespace

std::unique_ptr<Generator> load_torchscript_model(const std::string& path,
                                                  const ModelOptions& options,
                                                  std::shared_ptr<const Tokenizer> tokenizer) {
  return std::make_unique<TorchScriptModel>(path, options, std::move(tokenizer));
}

}  // namespace detllm
