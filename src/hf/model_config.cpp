// The built-in presets of BuiltinConfig: shapes only, no weights (those are
// drawn by the core from weight_seed), so they live with the config parsers.
#include "detllm_test/model_config.h"

#include "detllm_test/error.h"

namespace detllm {

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

BuiltinConfig BuiltinConfig::preset_named(const std::string& name) {
  if (name == "tiny") return tiny();
  if (name == "small") return small();
  if (name == "llama-tiny") return llama_tiny();
  if (name == "llama-small") return llama_small();
  throw Error("unknown built-in preset '" + name +
              "'; expected tiny, small, llama-tiny or llama-small");
}

}  // namespace detllm
