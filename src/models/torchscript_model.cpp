// TorchScript models: any archive whose forward(input_ids[, attention_mask])
// returns logits.
#include <torch/script.h>

#include "artifacts/sha256.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "models/decoding.h"
#include "models/torchscript_archive.h"
#include "models/whole_sequence_model.h"

namespace detllm {
namespace {

using internal::first_line;
using internal::load_archive;

class TorchScriptModel final : public internal::WholeSequenceModel {
 public:
  TorchScriptModel(const std::string& path, const ModelOptions& options,
                   std::shared_ptr<const Tokenizer> tokenizer)
      : WholeSequenceModel("TorchScript model", "torchscript", path, options, std::move(tokenizer)),
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
    info_.file_sha256 = internal::sha256_file(path);
  }

 private:
  // Its first output: logits, or a tuple, list or dict whose first value is.
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& mask) override {
    std::vector<c10::IValue> inputs{ids};
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
      throw Error(named() + ": forward returned " + output.tagKind() +
                  "; expected logits [B, T, V] or a tuple, list or dict whose first value is");
    }
    return first.toTensor();
  }

  std::string failure(const std::exception& error, const at::Tensor&) const override {
    // c10::Error, or torch::jit::JITException for an error inside the script.
    return "failed in forward: " + internal::describe_torch_error(error);
  }

  torch::jit::Module module_;
  bool takes_mask_ = true;
};

}  // namespace

std::unique_ptr<Generator> load_torchscript_model(const std::string& path,
                                                  const ModelOptions& options,
                                                  std::shared_ptr<const Tokenizer> tokenizer) {
  return std::make_unique<TorchScriptModel>(path, options, std::move(tokenizer));
}

}  // namespace detllm
