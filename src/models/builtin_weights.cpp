// The built-in model's weight files: a TorchScript archive of named tensors.
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "models/builtin_model.h"
#include "models/torchscript_archive.h"

namespace detllm {
namespace {

// TorchScript attribute names cannot contain '.'.
std::string attribute_name(const std::string& parameter) {
  std::string name = parameter;
  for (size_t at = name.find('.'); at != std::string::npos; at = name.find('.', at + 2)) {
    name.replace(at, 1, "__");
  }
  return name;
}

}  // namespace

void save_builtin_weights(const Generator& model, const std::string& path) {
  const auto* builtin = dynamic_cast<const internal::BuiltinModel*>(&model);
  if (builtin == nullptr) {
    throw Error("save_builtin_weights: '" + model.info().name + "' is not a built-in model");
  }
  internal::BuiltinWeights weights = builtin->cpu_float_weights();
  torch::jit::Module archive("detllm.BuiltinWeights");
  for (auto& [name, tensor] : weights.named())
    archive.register_buffer(attribute_name(name), *tensor);
  try {
    archive.save(path);
  } catch (const std::exception& e) {
    throw Error("cannot write built-in weights to '" + path +
                "': " + internal::first_line(e.what()));
  }
}

std::unique_ptr<Generator> load_builtin_weights(const std::string& path,
                                                const BuiltinConfig& config,
                                                const ModelOptions& options) {
  torch::jit::Module archive =
      internal::load_archive(path, "built-in weights", at::Device(at::kCPU));
  internal::BuiltinWeights weights = internal::BuiltinWeights::empty_like(config);
  for (auto& [name, tensor] : weights.named()) {
    const std::string attribute = attribute_name(name);
    if (!archive.hasattr(attribute) || !archive.attr(attribute).isTensor()) {
      throw Error("built-in weights '" + path + "' have no tensor '" + name + "'");
    }
    at::Tensor loaded = archive.attr(attribute).toTensor();
    if (loaded.sizes() != tensor->sizes()) {
      throw Error("built-in weights '" + path + "': tensor '" + name + "' has shape " +
                  internal::shape_of(loaded) + ", expected " + internal::shape_of(*tensor) +
                  " for preset '" + config.preset + "'");
    }
    *tensor = loaded.to(at::kFloat);
  }
  auto model = std::make_unique<internal::BuiltinModel>(config, options, std::move(weights));
  return model;
}

}  // namespace detllm
