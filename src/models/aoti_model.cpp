// AOTInductor packages (.pt2): a model compiled ahead of time by
// torch._inductor.aoti_compile_and_package, run by libtorch 2.x's
// AOTIModelPackageLoader, whose forward(input_ids, attention_mask) returns logits.
#include <ATen/ATen.h>
#include <torch/version.h>

#include <filesystem>
#include <unordered_map>

#include "aoti/call_spec.h"
#include "artifacts/sha256.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "models/decoding.h"
#include "models/device_dtype.h"
#include "models/whole_sequence_model.h"

// libtorch 2.x's loader; a libtorch without it (Debian's 1.13) refuses packages.
#if __has_include(<torch/csrc/inductor/aoti_package/model_package_loader.h>)
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#define DETLLM_HAVE_AOTI 1
#endif

namespace detllm {

bool aoti_available() {
#ifdef DETLLM_HAVE_AOTI
  return true;
#else
  return false;
#endif
}

#ifdef DETLLM_HAVE_AOTI
namespace {

using internal::first_line;

class AotiModel final : public internal::WholeSequenceModel {
 public:
  AotiModel(const std::string& path, const ModelOptions& options,
            std::shared_ptr<const Tokenizer> tokenizer)
      : WholeSequenceModel("AOTInductor package", "aoti", path, options, std::move(tokenizer)),
        dtype_(internal::parse_dtype(options.dtype)) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) {
      throw Error("cannot load AOTInductor package '" + path + "': file does not exist");
    }
    std::unordered_map<std::string, std::string> metadata;
    try {
      metadata = torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(path, "model");
    } catch (const std::exception& e) {
      throw Error("cannot load AOTInductor package '" + path +
                  "': not a package of a model named 'model' (" + first_line(e.what()) + ")");
    }
    check_metadata(metadata);
    try {
      loader_ = std::make_unique<torch::inductor::AOTIModelPackageLoader>(
          path, "model", /*run_single_threaded=*/false, /*num_runners=*/1,
          device_.is_cuda() ? device_.index() : -1);
    } catch (const std::exception& e) {
      throw Error("cannot load AOTInductor package '" + path + "': " + first_line(e.what()) +
                  " (a corrupt package, or one compiled by another torch version, fails to "
                  "load like this)");
    }
    const std::vector<std::string> spec = loader_->get_call_spec();
    const size_t inputs = spec.empty() ? 0 : internal::call_spec_input_count(spec[0], named());
    if (inputs != 2) {
      throw Error(named() + ": its model takes " + std::to_string(inputs) +
                  " input tensors; expected forward(input_ids, attention_mask) -> logits");
    }
    info_.file_sha256 = internal::sha256_file(path);
    // It would see only the kernels' extern calls into ATen, and name the wrong op.
    info_.capabilities.ops_unobservable =
        "an AOTInductor package runs compiled kernels, which the op recorder cannot see into";
  }

 private:
  // A package made for another device, or by another torch version (when it
  // says: our exporter records torch_version in the package's metadata).
  void check_metadata(const std::unordered_map<std::string, std::string>& metadata) const {
    const auto value = [&](const char* key) {
      const auto it = metadata.find(key);
      return it == metadata.end() ? std::string() : it->second;
    };
    const std::string made_by = value("torch_version");
    if (!made_by.empty() && made_by.rfind(TORCH_VERSION, 0) != 0) {
      throw Error(named() + " was compiled by torch " + made_by + "; this libtorch is " +
                  TORCH_VERSION
                  ": a package runs only on the version that compiled it (export it again)");
    }
    const std::string device = value("AOTI_DEVICE_KEY");
    if (device == "cuda" && !at::hasCUDA()) {
      throw Error(named() +
                  " was compiled for CUDA, and this machine or libtorch has no CUDA device");
    }
    if (!device.empty() && device != c10::DeviceTypeName(device_.type(), /*lower_case=*/true)) {
      throw Error(named() + " was compiled for " + device + "; ModelOptions::device asks for " +
                  device_.str() + " (export it for that)");
    }
  }

  at::Tensor forward(const at::Tensor& ids, const at::Tensor& mask) override {
    const std::vector<at::Tensor> outputs = loader_->run({ids, mask});
    if (outputs.empty()) throw Error(named() + " returned no tensors; expected logits");
    // A package computes in the dtype it was exported in: it cannot be converted.
    if (outputs[0].scalar_type() != dtype_) {
      throw Error(named() + " computes in " + std::string(c10::toString(outputs[0].scalar_type())) +
                  "; ModelOptions::dtype says " + info_.dtype + " (export it in that dtype)");
    }
    return outputs[0];
  }

  std::string failure(const std::exception& error, const at::Tensor& ids) const override {
    return "failed on input_ids " + (ids.defined() ? internal::shape_of(ids) : std::string("?")) +
           ": " + first_line(error.what()) +
           " (a package exported with static shapes runs only the shapes it was exported with: "
           "export with torch.export.Dim for batch and sequence)";
  }

  at::ScalarType dtype_;
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader_;
};

}  // namespace
#endif  // DETLLM_HAVE_AOTI

std::unique_ptr<Generator> load_aoti_model(const std::string& path, const ModelOptions& options,
                                           std::shared_ptr<const Tokenizer> tokenizer) {
#ifdef DETLLM_HAVE_AOTI
  return std::make_unique<AotiModel>(path, options, std::move(tokenizer));
#else
  (void)options;
  (void)tokenizer;
  throw Error("cannot load AOTInductor package '" + path + "': this build's libtorch " +
              TORCH_VERSION +
              " has no AOTIModelPackageLoader (libtorch 2.x has; build against the torch wheel's: "
              "docs/getting-started.md#which-libtorch)");
#endif
}

}  // namespace detllm
