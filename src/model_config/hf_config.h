// Internal: the JSON files of a Hugging Face checkpoint directory besides the
// weights and the tokenizer: config.json (through the family table,
// model_family.h) and generation_config.json. Torch-free, so that they are
// fuzzed (fuzz/); the shard index is the safetensors format's
// (safetensors/safetensors_header.h).
#ifndef DETLLM_SRC_MODEL_CONFIG_HF_CONFIG_H_
#define DETLLM_SRC_MODEL_CONFIG_HF_CONFIG_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "detllm_test/model_config.h"

namespace detllm::internal {

// config.json -> BuiltinConfig for model_type gpt2, llama, mistral or qwen2.
// Settings the built-in transformer does not implement are refused by name
// (rope_scaling "yarn", mlp_bias, Qwen2's use_sliding_window, ...) rather
// than run wrongly. Throws detllm::Error "<where>: <problem>".
BuiltinConfig read_hf_config(const nlohmann::json& config, const std::string& where);

// The eos_token_id of generation_config.json (or of config.json, which
// transformers falls back to): a number, a list of them, or absent.
std::vector<int64_t> read_eos_token_ids(const nlohmann::json& config, const std::string& where);

// The config.json that read_hf_config reads back as `config`.
nlohmann::json hf_config_json(const BuiltinConfig& config);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_MODEL_CONFIG_HF_CONFIG_H_
