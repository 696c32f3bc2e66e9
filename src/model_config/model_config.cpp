// The built-in presets of BuiltinConfig: shapes only, no weights (those are
// drawn by the core from weight_seed), so they live with the config parsers.
#include "detllm_test/model_config.h"

#include <algorithm>

#include "detllm_test/error.h"

namespace detllm {

const std::vector<std::string>& BuiltinConfig::llama_architecture_types() {
  static const std::vector<std::string> types = [] {
    std::vector<std::string> out;
    for (const ModelFamily& family : model_families()) {
      if (family.llama_architecture) out.push_back(family.model_type);
    }
    return out;
  }();
  return types;
}

namespace {

// "a, b or c".
std::string listed(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  return out;
}

}  // namespace

std::string BuiltinConfig::supported_model_types() {
  std::vector<std::string> all;
  for (const ModelFamily& family : model_families()) all.push_back(family.model_type);
  return listed(all);
}

const ModelFamily& BuiltinConfig::family() const {
  const ModelFamily* found = find_model_family(model_type);
  if (!found) {
    throw Error("model_type '" + model_type + "' is not supported; expected " +
                supported_model_types());
  }
  return *found;
}

bool BuiltinConfig::is_llama_architecture() const {
  const ModelFamily* found = find_model_family(model_type);
  return found && found->llama_architecture;
}

bool BuiltinConfig::gemma() const {
  const ModelFamily* found = find_model_family(model_type);
  return found && found->gemma != ModelFamily::Gemma::kNone;
}

bool BuiltinConfig::fused_projections() const {
  const ModelFamily* found = find_model_family(model_type);
  return found && found->fused_projections;
}

bool BuiltinConfig::windowed_layer(int64_t layer) const {
  if (sliding_window <= 0) return false;
  if (sliding_layers.empty()) return true;
  return layer >= 0 && layer < static_cast<int64_t>(sliding_layers.size()) &&
         sliding_layers[static_cast<size_t>(layer)];
}

bool BuiltinConfig::sparse_layer(int64_t layer) const {
  return n_experts > 0 && decoder_sparse_step > 0 && (layer + 1) % decoder_sparse_step == 0 &&
         std::find(mlp_only_layers.begin(), mlp_only_layers.end(), layer) == mlp_only_layers.end();
}

BuiltinConfig BuiltinConfig::tiny() {
  BuiltinConfig config;
  config.preset = "tiny";
  config.init_std = 0.25;
  return config;
}

BuiltinConfig BuiltinConfig::small() {
  BuiltinConfig config;
  config.preset = "small";
  config.vocab_size = 50257;
  config.n_positions = 1024;
  config.n_embd = 768;
  config.n_layer = 12;
  config.n_head = 12;
  config.init_std = 0.08;
  return config;
}

BuiltinConfig BuiltinConfig::llama_tiny() {
  BuiltinConfig config = tiny();
  config.preset = "llama-tiny";
  config.model_type = "llama";
  config.activation_function = "silu";
  config.n_head = 4;
  config.n_kv_head = 2;
  config.n_inner = 128;
  config.layer_norm_epsilon = 1e-6;
  config.tie_word_embeddings = false;
  return config;
}

BuiltinConfig BuiltinConfig::llama_small() {
  BuiltinConfig config = llama_tiny();
  config.preset = "llama-small";
  config.tie_word_embeddings = true;
  config.vocab_size = 49152;
  config.n_positions = 2048;
  config.n_embd = 576;
  config.n_layer = 30;
  config.n_head = 9;
  config.n_kv_head = 3;
  config.n_inner = 1536;
  config.layer_norm_epsilon = 1e-5;
  config.init_std = 0.08;
  return config;
}

BuiltinConfig BuiltinConfig::qwen3_small() {
  BuiltinConfig config = llama_tiny();
  config.preset = "qwen3-small";
  config.model_type = "qwen3";
  config.tie_word_embeddings = true;
  config.vocab_size = 151936;
  config.n_positions = 4096;
  config.n_embd = 1024;
  config.n_layer = 8;
  config.n_head = 16;
  config.n_kv_head = 8;
  config.head_dim = 128;
  config.n_inner = 3072;
  config.qk_norm = true;
  config.rope_theta = 1000000.0;
  config.init_std = 0.05;
  return config;
}

BuiltinConfig BuiltinConfig::moe_tiny() {
  BuiltinConfig config = llama_tiny();
  config.preset = "moe-tiny";
  config.model_type = "qwen3_moe";
  config.qk_norm = true;
  config.n_experts = 8;
  config.n_experts_per_token = 2;
  config.moe_inner = 32;
  config.norm_topk_prob = true;
  return config;
}

BuiltinConfig BuiltinConfig::moe_small() {
  BuiltinConfig config = moe_tiny();
  config.preset = "moe-small";
  config.vocab_size = 32000;
  config.n_positions = 4096;
  config.n_embd = 512;
  config.n_layer = 8;
  config.n_head = 8;
  config.n_kv_head = 4;
  config.head_dim = 64;
  config.n_inner = 1536;
  config.n_experts = 128;
  config.n_experts_per_token = 8;
  config.moe_inner = 256;
  config.rope_theta = 1000000.0;
  config.init_std = 0.08;
  return config;
}

const std::vector<std::string>& BuiltinConfig::preset_names() {
  static const std::vector<std::string> names = {
      "tiny", "small", "llama-tiny", "llama-small", "qwen3-small", "moe-tiny", "moe-small"};
  return names;
}

BuiltinConfig BuiltinConfig::preset_named(const std::string& name) {
  if (name == "tiny") return tiny();
  if (name == "small") return small();
  if (name == "llama-tiny") return llama_tiny();
  if (name == "llama-small") return llama_small();
  if (name == "qwen3-small") return qwen3_small();
  if (name == "moe-tiny") return moe_tiny();
  if (name == "moe-small") return moe_small();
  throw Error("unknown built-in preset '" + name + "'; expected " + listed(preset_names()));
}

}  // namespace detllm
