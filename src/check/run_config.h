// Internal: the run_config artifact of a run or check pack.
#ifndef DETLLM_SRC_CHECK_RUN_CONFIG_H_
#define DETLLM_SRC_CHECK_RUN_CONFIG_H_

#include <nlohmann/json.hpp>
#include <vector>

#include "detllm_test/check.h"

namespace detllm::internal {

// run_config.json (schema 1.0) for `model` run with `options`: model identity
// and files, decoding, batch sizes, runs, tokenizer, prompts. Read after the
// runs: a TorchScript model learns its vocabulary size then.
// [{"path", "sha256"}] of a model's files.
nlohmann::json model_files_json(const std::vector<ModelFile>& files);

// The decoding settings as run_config.json and golden files write them.
nlohmann::json decoding_json(const GenerationConfig& decoding);

nlohmann::json run_config_json(const Generator& model, const RunOptions& options,
                               const DeterminismRecord& record, const std::vector<int>& vary_batch,
                               int runs, const std::vector<Prompt>& prompts,
                               const nlohmann::json& env);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_RUN_CONFIG_H_
