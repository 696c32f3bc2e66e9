// A checkpoint's JSON files: config.json, generation_config.json's
// eos_token_id and model.safetensors.index.json, each read from the input.
#include <nlohmann/json.hpp>

#include "detllm_test/error.h"
#include "fuzz_input.h"
#include "model_config/hf_config.h"
#include "safetensors/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto json = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  try {
    const detllm::BuiltinConfig config = detllm::internal::read_hf_config(json, "fuzz");
    (void)detllm::internal::hf_config_json(config);
  } catch (const detllm::Error&) {
  }
  try {
    (void)detllm::internal::read_eos_token_ids(json, "fuzz");
  } catch (const detllm::Error&) {
  }
  try {
    (void)detllm::internal::read_safetensors_index(json, "fuzz");
  } catch (const detllm::Error&) {
  }
  return 0;
}
