// GPT-2-family checkpoints in a Hugging Face directory, run by the built-in
// transformer: config.json, model.safetensors, vocab.json, merges.txt.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "models/builtin_model.h"
#include "models/decoding.h"
#include "gpt2/tokenizer_files.h"
#include "artifacts/json_io.h"
#include "gpt2/safetensors.h"
#include "artifacts/sha256.h"

namespace detllm {
namespace {

using nlohmann::json;

// `directory`/`name`, with exactly one separator however the directory was given.
std::string file_in(const std::string& directory, const std::string& name) {
  return (std::filesystem::path(directory) / name).string();
}

// GPT-2's config.json -> BuiltinConfig; refuses settings the built-in
// transformer does not implement rather than running them wrongly.
BuiltinConfig read_config(const std::string& path) {
  const json c = internal::read_json_file(path, "GPT-2 config");
  const auto fail = [&](const std::string& problem) {
    throw Error("GPT-2 config '" + path + "': " + problem);
  };
  if (!c.is_object()) fail("not a JSON object");
  if (c.contains("model_type") && c["model_type"] != "gpt2") {
    fail("model_type " + c["model_type"].dump() + " is not a GPT-2-family model");
  }
  const auto positive = [&](const char* key, const char* alias = nullptr) -> int64_t {
    const char* found = c.contains(key) ? key : alias && c.contains(alias) ? alias : nullptr;
    if (!found) fail(std::string("has no ") + key);
    const json& value = c[found];
    if (!value.is_number_integer() || value.get<int64_t>() <= 0) {
      fail(std::string(found) + " is " + value.dump() + ", not a positive integer");
    }
    return value.get<int64_t>();
  };
  BuiltinConfig config;
  config.preset = "gpt2";
  config.n_layer = positive("n_layer");
  config.n_head = positive("n_head");
  config.n_embd = positive("n_embd");
  config.n_positions = positive("n_positions", "n_ctx");
  config.vocab_size = positive("vocab_size");
  if (c.contains("n_inner") && !c["n_inner"].is_null()) config.n_inner = positive("n_inner");
  config.layer_norm_epsilon = c.value("layer_norm_epsilon", 1e-5);
  config.activation_function = c.value("activation_function", std::string("gelu_new"));
  if (config.n_embd % config.n_head != 0) fail("n_embd is not a multiple of n_head");
  if (!c.value("scale_attn_weights", true)) fail("scale_attn_weights=false is not supported");
  if (c.value("scale_attn_by_inverse_layer_idx", false)) {
    fail("scale_attn_by_inverse_layer_idx=true is not supported");
  }
  if (c.value("add_cross_attention", false)) fail("add_cross_attention=true is not supported");
  return config;
}

std::string shape_text(const std::vector<int64_t>& shape) { return json(shape).dump(); }

// Reads every parameter `config` implies, by GPT-2's names, with or without the
// "transformer." prefix that GPT2LMHeadModel writes.
internal::BuiltinWeights read_weights(const internal::SafetensorsFile& file,
                                      const BuiltinConfig& config, const std::string& path) {
  const std::string prefix = file.contains("transformer.h.0.ln_1.weight") ? "transformer." : "";
  internal::BuiltinWeights weights = internal::BuiltinWeights::empty_like(config);
  std::set<std::string> used;
  const auto load = [&](const std::string& name, at::Tensor& target) {
    const internal::SafetensorsFile::Entry& entry = file.entries().at(name);
    const std::vector<int64_t> expected = target.sizes().vec();
    if (entry.shape != expected) {
      std::string hint;
      if (entry.shape.size() == 2 && expected.size() == 2 && entry.shape[0] == expected[1] &&
          entry.shape[1] == expected[0]) {
        hint = " (transposed: GPT-2 stores Conv1D weights as [in, out])";
      }
      throw Error("GPT-2 weights '" + path + "': tensor '" + name + "' has shape " +
                  shape_text(entry.shape) + " but config.json implies " + shape_text(expected) +
                  hint);
    }
    const std::string& dtype = entry.dtype;
    if (dtype != "F32" && dtype != "F16" && dtype != "BF16" && dtype != "F64") {
      throw Error("GPT-2 weights '" + path + "': tensor '" + name + "' has dtype " + dtype +
                  ", not a floating-point type");
    }
    target = file.read(name).to(at::kFloat);
    used.insert(name);
  };
  for (auto& [name, tensor] : weights.named()) {
    std::string key = prefix + name;
    // A tied head may be stored under either name.
    if (name == "wte.weight" && !file.contains(key) && file.contains("lm_head.weight")) {
      key = "lm_head.weight";
    }
    if (!file.contains(key)) {
      throw Error("GPT-2 weights '" + path + "' have no tensor '" + key + "'");
    }
    load(key, *tensor);
  }
  if (file.contains("lm_head.weight") && !used.count("lm_head.weight")) {
    at::Tensor head = weights.wte;
    load("lm_head.weight", head);
    if (!at::equal(head, weights.wte)) weights.lm_head = head;  // untied
  }
  for (const auto& [name, entry] : file.entries()) {
    if (used.count(name)) continue;
    // The causal-mask buffers of older checkpoints are not parameters.
    const bool buffer =
        name.size() > 10 && (name.compare(name.size() - 10, 10, ".attn.bias") == 0 ||
                             name.find(".attn.masked_bias") != std::string::npos);
    if (!buffer) {
      throw Error("GPT-2 weights '" + path + "': unexpected tensor '" + name +
                  "' (not part of a GPT-2 model with this config)");
    }
  }
  return weights;
}

}  // namespace

std::unique_ptr<Generator> load_gpt2_model(const std::string& directory,
                                           const ModelOptions& options) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) {
    throw Error("cannot load GPT-2 checkpoint '" + directory + "': not a directory");
  }
  const std::string config_path = file_in(directory, "config.json");
  const std::string weights_path = file_in(directory, "model.safetensors");
  // The files read, weights first (run_config.json's model_file), then the
  // config and the tokenizer's.
  std::vector<std::string> names = {"model.safetensors", "config.json"};
  const std::vector<std::string> tokenizer_files = internal::gpt2_tokenizer_files(directory);
  names.insert(names.end(), tokenizer_files.begin(), tokenizer_files.end());
  for (const std::string& name : names) {
    if (!std::filesystem::is_regular_file(file_in(directory, name), error)) {
      throw Error("cannot load GPT-2 checkpoint '" + directory + "': it has no " + name +
                  " (expected model.safetensors, config.json, and vocab.json and merges.txt or "
                  "a tokenizer.json)");
    }
  }
  const BuiltinConfig config = read_config(config_path);
  std::shared_ptr<const Tokenizer> tokenizer = load_gpt2_tokenizer(directory);
  internal::BuiltinWeights weights;
  try {
    weights = read_weights(internal::SafetensorsFile(weights_path), config, weights_path);
  } catch (const c10::Error& e) {
    throw Error("cannot load GPT-2 weights '" + weights_path +
                "': " + internal::describe_torch_error(e));
  }
  std::vector<ModelFile> files;
  for (const std::string& name : names) {
    const std::string path = file_in(directory, name);
    files.push_back({path, internal::sha256_file(path)});
  }
  auto model = std::make_unique<internal::BuiltinModel>(config, options, std::move(weights),
                                                        std::move(tokenizer));
  model->set_source(directory, std::move(files));
  return model;
}

void save_gpt2_checkpoint(const Generator& builtin_model, const std::string& directory) {
  const auto* model = dynamic_cast<const internal::BuiltinModel*>(&builtin_model);
  if (!model) {
    throw Error("save_gpt2_checkpoint: " + builtin_model.info().name + " is not a built-in model");
  }
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    throw Error("cannot create GPT-2 checkpoint directory '" + directory + "': " + error.message());
  }
  const BuiltinConfig& c = model->config();
  internal::BuiltinWeights weights = model->cpu_float_weights();
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto& [name, tensor] : weights.named()) {
    tensors.emplace_back(name == "lm_head.weight" ? name : "transformer." + name, *tensor);
  }
  // transformers refuses safetensors files whose metadata names no format.
  internal::write_safetensors(file_in(directory, "model.safetensors"), tensors, {{"format", "pt"}});
  const json config = {{"model_type", "gpt2"},
                       {"architectures", {"GPT2LMHeadModel"}},
                       {"vocab_size", c.vocab_size},
                       {"n_positions", c.n_positions},
                       {"n_embd", c.n_embd},
                       {"n_layer", c.n_layer},
                       {"n_head", c.n_head},
                       {"n_inner", c.n_inner > 0 ? json(c.n_inner) : json(nullptr)},
                       {"activation_function", c.activation_function},
                       {"layer_norm_epsilon", c.layer_norm_epsilon},
                       {"tie_word_embeddings", !weights.lm_head.defined()}};
  const std::string config_path = file_in(directory, "config.json");
  std::ofstream out(config_path);
  out << internal::dump(config, 2) << "\n";
  if (!out.flush()) throw Error("cannot write '" + config_path + "'");
}

}  // namespace detllm
