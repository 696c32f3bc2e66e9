#include "check/run_config.h"

#include "detllm_test/version.h"

namespace detllm::internal {

using nlohmann::json;

namespace {}  // namespace

json model_files_json(const std::vector<ModelFile>& files) {
  json out = json::array();
  for (const ModelFile& file : files) out.push_back({{"path", file.path}, {"sha256", file.sha256}});
  return out;
}

json decoding_json(const GenerationConfig& d) {
  return {{"max_new_tokens", d.max_new_tokens},
          {"do_sample", d.do_sample},
          {"temperature", d.temperature},
          {"top_p", d.top_p},
          {"top_k", d.top_k},
          {"seed", d.seed},
          {"capture_logprobs", d.capture_logprobs},
          {"eos_token_id", d.eos_token_id ? json(*d.eos_token_id) : json(nullptr)}};
}

json run_config_json(const Generator& model, const RunOptions& options,
                     const DeterminismRecord& record, const std::vector<int>& vary_batch, int runs,
                     const std::vector<Prompt>& prompts, const json& env) {
  const ModelInfo info = model.info();
  json prompt_list = json::array();
  for (size_t i = 0; i < prompts.size(); ++i) {
    json p = {{"index", i}, {"prompt_id", prompt_id(prompts[i])}};
    if (prompts[i].has_ids) {
      p["token_ids"] = prompts[i].token_ids;
    } else {
      p["text"] = prompts[i].text;
    }
    prompt_list.push_back(p);
  }
  return json{
      {"schema_version", kSchemaVersion},
      {"detllm_version", kVersion},
      {"artifact_type", "run_config"},
      {"backend", info.backend},
      {"tier_requested", record.tier_requested},
      {"tier_effective", record.tier_effective},
      {"mode", to_string(record.mode)},
      {"model", info.name},
      {"model_file", info.file},
      {"model_sha256", info.file_sha256},
      {"model_files", model_files_json(info.files)},
      {"dtype", info.dtype},
      {"device", info.device},
      {"decoding", decoding_json(options.decoding)},
      {"batch_size", options.batch_size},
      {"vary_batch", vary_batch},
      {"runs", runs},
      {"preflight", options.preflight},
      {"seed", record.seed ? json(*record.seed) : json(nullptr)},
      {"tokenizer", {{"id", model.tokenizer().id()}, {"revision", nullptr}}},
      {"generation_context",
       {{"device_snapshot", env.contains("device") ? env["device"] : json(nullptr)},
        {"threads", record.threads},
        {"vocab_size", info.vocab_size},
        {"logprobs_capability", info.capabilities.logprobs},
        {"honours_controls", info.capabilities.honours_controls}}},
      {"prompts", prompt_list},
  };
}

}  // namespace detllm::internal
