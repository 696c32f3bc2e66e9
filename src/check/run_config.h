// Internal: the run_config artifact of a run or check pack.
#ifndef DETLLM_SRC_CHECK_RUN_CONFIG_H_
#define DETLLM_SRC_CHECK_RUN_CONFIG_H_

#include <nlohmann/json.hpp>
#include <vector>

#include "check/batch_plan.h"
#include "check/phases.h"
#include "detllm_test/check.h"

namespace detllm::internal {

// run_config.json (schema 1.0) for `model` run with `options`: model identity
// and files, decoding, batch sizes, runs, tokenizer, prompts. Read after the
// runs: a TorchScript model learns its vocabulary size then.
// [{"path", "sha256"}] of a model's files.
nlohmann::json model_files_json(const std::vector<ModelFile>& files);

// The decoding settings as run_config.json and golden files write them, and
// read back (throws nlohmann's exceptions for missing or mistyped fields).
nlohmann::json decoding_json(const GenerationConfig& decoding);
GenerationConfig decoding_from_json(const nlohmann::json& decoding);

// Every determinism option as one JSON object: run_config.json's
// replay.determinism and a golden's settings (beside its batch size, decoding
// and prompts) both write this layout. Reading it back overwrites the options
// a file has and leaves the others (older files lack the newer ones); tier,
// seed and threads are required (throws nlohmann's exceptions).
nlohmann::json determinism_json(const DeterminismOptions& determinism);
void read_determinism_json(const nlohmann::json& json, DeterminismOptions& into);

// run_config.json's "replay" object: what `detllm replay` needs beyond the
// schema's fields to run a check again as it ran — runs, batch sizes, needle
// trials, every determinism option, and the batch composition (per phase,
// each batch's slots: a prompt index or -1 for a filler, and the fillers'
// token ids), from the phases the check ran.
nlohmann::json replay_json(const CheckOptions& options, const std::vector<Phase>& phases,
                           const std::vector<Request>& requests);
// The check's options read back from a replay block (throws nlohmann's
// exceptions for a missing required field or a wrong type).
CheckOptions options_from_replay(const nlohmann::json& replay);

nlohmann::json run_config_json(const Generator& model, const RunOptions& options,
                               const DeterminismRecord& record, const std::vector<int>& vary_batch,
                               int runs, const std::vector<Prompt>& prompts,
                               const nlohmann::json& env);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_RUN_CONFIG_H_
