// AOTInductor packages (.pt2): a model compiled ahead of time by
// torch._inductor.aoti_compile_and_package, run by libtorch 2.x's
// AOTIModelPackageLoader, whose forward(input_ids, attention_mask) returns logits.
#include <ATen/ATen.h>
#include <torch/version.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "artifacts/sha256.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "models/decoding.h"
#include "models/device_dtype.h"

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

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// How many tensors the package's model takes: the leaves of its input spec,
// the pytree (args, kwargs) torch.export serialized as JSON in the call spec.
// A leaf (a tensor) has type null; a container (tuple, dict) counts its children.
size_t count_leaves(const nlohmann::json& spec) {
  if (!spec.is_object()) return 0;
  if (!spec.contains("type") || spec["type"].is_null()) return 1;
  size_t n = 0;
  for (const nlohmann::json& child : spec.value("children_spec", nlohmann::json::array())) {
    n += count_leaves(child);
  }
  return n;
}
size_t input_count(const std::string& in_spec) {
  const nlohmann::json spec = nlohmann::json::parse(in_spec, nullptr, /*allow_exceptions=*/false);
  // [protocol version, tree]
  if (!spec.is_array() || spec.size() != 2) return 0;
  return count_leaves(spec[1]);
}

class AotiModel final : public Generator, private internal::LogitsModel {
 public:
  AotiModel(const std::string& path, const ModelOptions& options,
            std::shared_ptr<const Tokenizer> tokenizer)
      : device_(internal::parse_device(options.device)), tokenizer_(std::move(tokenizer)) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error)) {
      throw Error("cannot load AOTInductor package '" + path + "': file does not exist");
    }
    dtype_ = internal::parse_dtype(options.dtype);
    std::unordered_map<std::string, std::string> metadata;
    try {
      metadata = torch::inductor::AOTIModelPackageLoader::load_metadata_from_package(path, "model");
    } catch (const std::exception& e) {
      throw Error("cannot load AOTInductor package '" + path +
                  "': not a package of a model named 'model' (" + first_line(e.what()) + ")");
    }
    check_metadata(path, metadata);
    try {
      loader_ = std::make_unique<torch::inductor::AOTIModelPackageLoader>(
          path, "model", /*run_single_threaded=*/false, /*num_runners=*/1,
          device_.is_cuda() ? device_.index() : -1);
    } catch (const std::exception& e) {
      throw Error("cannot load AOTInductor package '" + path + "': " + first_line(e.what()) +
                  " (a package compiled by another torch version fails to load like this)");
    }
    const std::vector<std::string> spec = loader_->get_call_spec();
    const size_t inputs = spec.empty() ? 0 : input_count(spec[0]);
    if (inputs != 2) {
      throw Error("AOTInductor package '" + path + "': its model takes " +
                  std::to_string(inputs) +
                  " input tensors; expected forward(input_ids, attention_mask) -> logits");
    }
    info_.name = path;
    info_.backend = "aoti";
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
    return guarded([&] {
      return internal::scores_from_logits(logits_of(at::ones_like(ids_))[0], sequence,
                                          prompt_length);
    });
  }

  std::vector<Generation> generate(const std::vector<TokenIds>& batch,
                                   const GenerationConfig& config) override {
    c10::InferenceMode no_autograd;
    return guarded([&] { return internal::decode(*this, batch, config, device_, /*pad_id=*/0); });
  }

 private:
  // A package made for another device, or by another torch version (when it
  // says: our exporter records torch_version in the package's metadata).
  void check_metadata(const std::string& path,
                      const std::unordered_map<std::string, std::string>& metadata) {
    const auto value = [&](const char* key) {
      const auto it = metadata.find(key);
      return it == metadata.end() ? std::string() : it->second;
    };
    const std::string made_by = value("torch_version");
    if (!made_by.empty() && made_by.rfind(TORCH_VERSION, 0) != 0) {
      throw Error("AOTInductor package '" + path + "' was compiled by torch " + made_by +
                  "; this libtorch is " TORCH_VERSION
                  ": a package runs only on the version that compiled it (export it again)");
    }
    const std::string device = value("AOTI_DEVICE_KEY");
    if (device == "cuda" && !at::hasCUDA()) {
      throw Error("AOTInductor package '" + path +
                  "' was compiled for CUDA, and this machine or libtorch has no CUDA device");
    }
    if (!device.empty() && device != c10::DeviceTypeName(device_.type(), /*lower_case=*/true)) {
      throw Error("AOTInductor package '" + path + "' was compiled for " + device +
                  "; ModelOptions::device asks for " + device_.str() + " (export it for that)");
    }
  }

  template <typename F>
  auto guarded(F run) -> decltype(run()) {
    try {
      return run();
    } catch (const Error&) {
      throw;  // already says what went wrong (NonFiniteLogits, a shape error)
    } catch (const std::exception& e) {
      throw Error("AOTInductor package '" + info_.name + "' failed on input_ids " +
                  (ids_.defined() ? internal::shape_of(ids_) : std::string("?")) + ": " +
                  first_line(e.what()) +
                  " (a package exported with static shapes runs only the shapes it was "
                  "exported with: export with torch.export.Dim for batch and sequence)");
    }
  }

  at::Tensor prefill(const at::Tensor& ids, const at::Tensor& mask) override {
    ids_ = ids;
    return last_position(logits_of(mask));
  }
  at::Tensor step(const at::Tensor& next_ids, const at::Tensor& mask) override {
    ids_ = at::cat({ids_, next_ids}, 1);
    return last_position(logits_of(mask));
  }
  // No cache: each step runs the whole sequence and keeps the last position.
  static at::Tensor last_position(const at::Tensor& logits) {
    return logits.select(1, logits.size(1) - 1);
  }

  // The package's forward over ids_: logits [B, T, V], checked.
  at::Tensor logits_of(const at::Tensor& mask) {
    const std::vector<at::Tensor> outputs = loader_->run({ids_, mask});
    if (outputs.empty()) {
      throw Error("AOTInductor package '" + info_.name + "' returned no tensors; expected logits");
    }
    const at::Tensor& logits = outputs[0];
    if (logits.dim() != 3 || logits.size(0) != ids_.size(0) || logits.size(1) != ids_.size(1)) {
      throw Error("AOTInductor package '" + info_.name + "' returned logits of shape " +
                  internal::shape_of(logits) + "; expected [B, T, V] = [" +
                  std::to_string(ids_.size(0)) + ", " + std::to_string(ids_.size(1)) + ", V]");
    }
    // A package computes in the dtype it was exported in: it cannot be converted.
    if (logits.scalar_type() != dtype_) {
      throw Error("AOTInductor package '" + info_.name + "' computes in " +
                  std::string(c10::toString(logits.scalar_type())) +
                  "; ModelOptions::dtype says " + info_.dtype + " (export it in that dtype)");
    }
    info_.vocab_size = logits.size(2);
    return logits;
  }

  at::Device device_;
  at::ScalarType dtype_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader_;
  ModelInfo info_;
  at::Tensor ids_;
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
