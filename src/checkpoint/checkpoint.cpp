// Hugging Face checkpoint directories run by the built-in transformer:
// config.json, model.safetensors (or its sharded index and shards),
// generation_config.json, and the tokenizer's files.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "artifacts/json_io.h"
#include "artifacts/sha256.h"
#include "checkpoint/tensor_file.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "model_config/hf_config.h"
#include "models/builtin_model.h"
#include "models/decoding.h"
#include "tokenizers/tokenizer_files.h"

namespace detllm {
namespace {

using nlohmann::json;

// `directory`/`name`, with exactly one separator however the directory was given.
std::string file_in(const std::string& directory, const std::string& name) {
  return (std::filesystem::path(directory) / name).string();
}

std::string shape_text(const std::vector<int64_t>& shape) { return json(shape).dump(); }

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Reads every parameter `config` implies by its checkpoint name, converted to
// float32 (the model converts to its dtype), checking shapes and dtypes, and
// refusing tensors that belong to no such model.
class WeightReader {
 public:
  WeightReader(const internal::SafetensorsCheckpoint& file, std::string where)
      : file_(file), where_(std::move(where)) {}

  void load(const std::string& name, at::Tensor& target) {
    if (!file_.contains(name)) throw Error(where_ + " have no tensor '" + name + "'");
    const internal::SafetensorsCheckpoint::Entry& entry = file_.entry(name);
    const std::vector<int64_t> expected = target.sizes().vec();
    if (entry.shape != expected) {
      std::string hint;
      if (entry.shape.size() == 2 && expected.size() == 2 && entry.shape[0] == expected[1] &&
          entry.shape[1] == expected[0]) {
        hint = name.find(".attn.") != std::string::npos || name.find(".mlp.c_") != std::string::npos
                   ? " (transposed: GPT-2 stores Conv1D weights as [in, out])"
                   : " (transposed: Linear weights are [out, in])";
      }
      throw Error(where_ + ": tensor '" + name + "' has shape " + shape_text(entry.shape) +
                  " but config.json implies " + shape_text(expected) + hint);
    }
    const std::string& dtype = entry.dtype;
    if (dtype != "F32" && dtype != "F16" && dtype != "BF16" && dtype != "F64") {
      throw Error(where_ + ": tensor '" + name + "' has dtype " + dtype +
                  ", not a floating-point type");
    }
    target = file_.read(name).to(at::kFloat);
    used_.insert(name);
  }
  bool used(const std::string& name) const { return used_.count(name) != 0; }
  // Every tensor of the file not loaded must be one `ignorable` accepts.
  template <typename Ignorable>
  void refuse_unused(const Ignorable& ignorable) const {
    for (const std::string& name : file_.names()) {
      if (!used(name) && !ignorable(name)) {
        throw Error(where_ + ": unexpected tensor '" + name +
                    "' (not part of a model with this config.json)");
      }
    }
  }

 private:
  const internal::SafetensorsCheckpoint& file_;
  std::string where_;
  std::set<std::string> used_;
};

// GPT-2's names, with or without the "transformer." prefix that
// GPT2LMHeadModel writes; a head equal to wte is tied.
internal::BuiltinWeights read_gpt2_weights(const internal::SafetensorsCheckpoint& file,
                                           const BuiltinConfig& config, const std::string& where) {
  const std::string prefix = file.contains("transformer.h.0.ln_1.weight") ? "transformer." : "";
  internal::BuiltinWeights weights = internal::BuiltinWeights::empty_like(config);
  WeightReader reader(file, where);
  for (auto& [name, tensor] : weights.named()) {
    std::string key = prefix + name;
    // A tied head may be stored under either name.
    if (name == "wte.weight" && !file.contains(key) && file.contains("lm_head.weight")) {
      key = "lm_head.weight";
    }
    reader.load(key, *tensor);
  }
  if (file.contains("lm_head.weight") && !reader.used("lm_head.weight")) {
    at::Tensor head = weights.wte;
    reader.load("lm_head.weight", head);
    if (!at::equal(head, weights.wte)) weights.lm_head = head;  // untied
  }
  // The causal-mask buffers of older checkpoints are not parameters.
  reader.refuse_unused([](const std::string& name) {
    return ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias");
  });
  return weights;
}

// LlamaForCausalLM's names (also Mistral's and Qwen2's). A tied head is the
// embedding, whatever lm_head.weight holds, as transformers ties them.
internal::BuiltinWeights read_llama_weights(const internal::SafetensorsCheckpoint& file,
                                            const BuiltinConfig& config, const std::string& where) {
  internal::BuiltinWeights weights = internal::BuiltinWeights::empty_like(config);
  WeightReader reader(file, where);
  for (auto& [name, tensor] : weights.named()) reader.load(name, *tensor);
  reader.refuse_unused([&](const std::string& name) {
    return ends_with(name, "rotary_emb.inv_freq") ||
           (config.tie_word_embeddings && name == "lm_head.weight");
  });
  return weights;
}

std::unique_ptr<Generator> load_checkpoint(const std::string& directory,
                                           const ModelOptions& options, bool gpt2_only) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) {
    throw Error("cannot load checkpoint '" + directory + "': not a directory");
  }
  const std::string config_path = file_in(directory, "config.json");
  if (!std::filesystem::is_regular_file(config_path, error)) {
    throw Error("cannot load checkpoint '" + directory + "': it has no config.json");
  }
  const json config_json = internal::read_json_file(config_path, "model config");
  const std::string where = "model config '" + config_path + "'";
  const auto family_of = [&]() -> const ModelFamily* {
    const json type = config_json.is_object() ? config_json.value("model_type", json()) : json();
    return type.is_string() ? find_model_family(type.get<std::string>()) : nullptr;
  };
  if (gpt2_only && config_json.is_object() && config_json.contains("model_type") &&
      (!family_of() || family_of()->llama_architecture)) {
    throw Error(where + ": model_type " + config_json["model_type"].dump() +
                " is not a GPT-2-family model (load_hf_model reads the others)");
  }
  const BuiltinConfig config = internal::read_hf_config(config_json, where);
  const bool gpt2 = !config.is_llama_architecture();
  const std::vector<std::string> tokenizer_files =
      gpt2 ? internal::gpt2_tokenizer_files(directory) : internal::hf_tokenizer_files(directory);
  for (const std::string& name : tokenizer_files) {
    if (!std::filesystem::is_regular_file(file_in(directory, name), error)) {
      throw Error("cannot load checkpoint '" + directory + "': it has no " + name +
                  " (GPT-2's tokenizer is vocab.json and merges.txt, or a tokenizer.json)");
    }
  }
  std::vector<std::string> paths;  // weights first (run_config.json's model_file)
  internal::BuiltinWeights weights;
  try {
    const internal::SafetensorsCheckpoint file(directory);
    const std::string weights_where = "weights of '" + directory + "'";
    weights = gpt2 ? read_gpt2_weights(file, config, weights_where)
                   : read_llama_weights(file, config, weights_where);
    paths = file.files();
  } catch (const c10::Error& e) {
    throw Error("cannot load the weights of '" + directory +
                "': " + internal::describe_torch_error(e));
  }
  paths.push_back(config_path);
  // transformers' generate stops at generation_config.json's eos tokens,
  // falling back to config.json's.
  const std::string generation_path = file_in(directory, "generation_config.json");
  std::vector<int64_t> eos;
  if (std::filesystem::is_regular_file(generation_path, error)) {
    eos =
        internal::read_eos_token_ids(internal::read_json_file(generation_path, "generation config"),
                                     "generation config '" + generation_path + "'");
    paths.push_back(generation_path);
  } else {
    eos = internal::read_eos_token_ids(config_json, where);
  }
  for (int64_t id : eos) {
    if (id >= config.vocab_size) {
      throw Error("checkpoint '" + directory + "': eos_token_id " + std::to_string(id) +
                  " is outside the vocabulary of " + std::to_string(config.vocab_size));
    }
  }
  std::shared_ptr<const Tokenizer> tokenizer =
      gpt2 ? load_gpt2_tokenizer(directory) : load_hf_tokenizer(directory);
  for (const std::string& name : tokenizer_files) paths.push_back(file_in(directory, name));
  std::vector<ModelFile> files;
  for (const std::string& path : paths) files.push_back({path, internal::sha256_file(path)});
  auto model = std::make_unique<internal::BuiltinModel>(config, options, std::move(weights),
                                                        std::move(tokenizer));
  model->set_source(directory, std::move(files), std::move(eos));
  return model;
}

}  // namespace

std::unique_ptr<Generator> load_hf_model(const std::string& directory,
                                         const ModelOptions& options) {
  return load_checkpoint(directory, options, /*gpt2_only=*/false);
}

std::unique_ptr<Generator> load_gpt2_model(const std::string& directory,
                                           const ModelOptions& options) {
  return load_checkpoint(directory, options, /*gpt2_only=*/true);
}

void save_hf_checkpoint(const Generator& builtin_model, const std::string& directory) {
  const auto* model = dynamic_cast<const internal::BuiltinModel*>(&builtin_model);
  if (!model) {
    throw Error("save_hf_checkpoint: " + builtin_model.info().name + " is not a built-in model");
  }
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    throw Error("cannot create checkpoint directory '" + directory + "': " + error.message());
  }
  internal::BuiltinWeights weights = model->cpu_float_weights();
  BuiltinConfig config = model->config();
  config.tie_word_embeddings = !weights.lm_head.defined();
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto& [name, tensor] : weights.named()) {
    const bool prefixed = !weights.llama && name != "lm_head.weight";
    tensors.emplace_back(prefixed ? "transformer." + name : name, *tensor);
  }
  // transformers refuses safetensors files whose metadata names no format.
  internal::write_safetensors(file_in(directory, "model.safetensors"), tensors, {{"format", "pt"}});
  const std::string config_path = file_in(directory, "config.json");
  std::ofstream out(config_path);
  out << internal::dump(internal::hf_config_json(config), 2) << "\n";
  if (!out.flush()) throw Error("cannot write '" + config_path + "'");
}

}  // namespace detllm
