// run_config.json: model identity and files, decoding, batch sizes, prompts,
// and the replay block that lets `detllm replay` run a check again as it ran.
#include "check/run_config.h"

#include "artifacts/json_io.h"
#include "artifacts/prompt_json.h"
#include "check/comparisons.h"
#include "detllm_test/version.h"

namespace detllm::internal {

using nlohmann::json;

json model_files_json(const std::vector<ModelFile>& files) {
  json out = json::array();
  for (const ModelFile& file : files) out.push_back({{"path", file.path}, {"sha256", file.sha256}});
  return out;
}

json decoding_json(const GenerationConfig& d) {
  json out = {{"max_new_tokens", d.max_new_tokens},
              {"do_sample", d.do_sample},
              {"temperature", d.temperature},
              {"top_p", d.top_p},
              {"top_k", d.top_k},
              {"seed", d.seed},
              {"capture_logprobs", d.capture_logprobs},
              {"eos_token_id", d.eos_token_id ? json(*d.eos_token_id) : json(nullptr)}};
  // Written only when set, so that goldens recorded before it compare equal.
  if (d.ignore_eos) out["ignore_eos"] = true;
  return out;
}

GenerationConfig decoding_from_json(const json& d) {
  GenerationConfig c;
  c.max_new_tokens = d.at("max_new_tokens").get<int>();
  c.do_sample = d.at("do_sample").get<bool>();
  c.temperature = d.at("temperature").get<double>();
  c.top_p = d.at("top_p").get<double>();
  c.top_k = d.at("top_k").get<int>();
  c.seed = d.value("seed", uint64_t{0});
  c.capture_logprobs = d.value("capture_logprobs", true);
  const json eos = d.value("eos_token_id", json());
  if (!eos.is_null()) c.eos_token_id = eos.get<int64_t>();
  c.ignore_eos = d.value("ignore_eos", false);
  return c;
}

json determinism_json(const DeterminismOptions& d) {
  return {{"tier", d.tier},
          {"mode", to_string(d.mode)},
          {"seed", d.seed ? json(*d.seed) : json(nullptr)},
          {"threads", d.threads},
          {"warn_only", d.warn_only},
          {"deterministic_algorithms", d.deterministic_algorithms},
          {"allow_tf32", d.allow_tf32},
          {"cublas_split_k", d.cublas_split_k},
          {"sdpa_backends", d.sdpa_backends}};
}

void read_determinism_json(const json& j, DeterminismOptions& d) {
  d.tier = j.at("tier").get<int>();
  d.seed = j.at("seed").is_null() ? std::nullopt : std::optional<uint64_t>(j.at("seed"));
  d.threads = j.at("threads").get<int>();
  if (j.contains("mode")) d.mode = mode_from_string(j["mode"].get<std::string>());
  d.warn_only = j.value("warn_only", d.warn_only);
  d.deterministic_algorithms = j.value("deterministic_algorithms", d.deterministic_algorithms);
  d.allow_tf32 = j.value("allow_tf32", d.allow_tf32);
  d.cublas_split_k = j.value("cublas_split_k", d.cublas_split_k);
  d.sdpa_backends = j.value("sdpa_backends", d.sdpa_backends);
}

json replay_json(const CheckOptions& o, const std::vector<Phase>& phases,
                 const std::vector<Request>& requests) {
  auto batches = [&](const std::string& phase, const std::vector<BatchPlan>& plans) {
    json list = json::array();
    for (const BatchPlan& plan : plans) {
      json fillers = json::object();
      for (size_t slot = 0; slot < plan.slots.size(); ++slot) {
        if (plan.slots[slot] < 0) {
          fillers[std::to_string(slot)] = filler(plan.filler_key, static_cast<int>(slot), requests);
        }
      }
      list.push_back({{"slots", plan.slots}, {"fillers", fillers}});
    }
    return json{{"phase", phase}, {"batches", list}};
  };
  // The runs share one entry, since their batches are the same; prefill runs
  // no batches of its own.
  json composition = json::array();
  for (const Phase& phase : phases) {
    if (phase.kind == Phase::Kind::kRun && phase.value == 0) {
      composition.push_back(
          batches("runs at batch size " + std::to_string(o.batch_size), phase.plans));
    } else if (phase.kind != Phase::Kind::kRun && !phase.plans.empty()) {
      composition.push_back(batches(phase.label, phase.plans));
    }
  }
  json replay = {{"batch_size", o.batch_size},
                 {"preflight", o.preflight},
                 {"decoding", decoding_json(o.decoding)},
                 {"determinism", determinism_json(o.determinism)},
                 {"batch_composition", composition}};
  for (const Comparison& c : comparisons()) {
    if (c.write_options) c.write_options(o, replay);
  }
  return replay;
}

CheckOptions options_from_replay(const json& replay) {
  CheckOptions o;
  o.batch_size = replay.at("batch_size").get<int>();
  for (const Comparison& c : comparisons()) {
    if (c.read_options) c.read_options(replay, o);
  }
  o.preflight = replay.value("preflight", false);
  o.decoding = decoding_from_json(replay.at("decoding"));
  read_determinism_json(replay.at("determinism"), o.determinism);
  return o;
}

json run_config_json(const Generator& model, const RunOptions& options,
                     const DeterminismRecord& record, const std::vector<int>& vary_batch, int runs,
                     const std::vector<Prompt>& prompts, const json& env) {
  const ModelInfo info = model.info();
  json prompt_list = json::array();
  for (size_t i = 0; i < prompts.size(); ++i) {
    json p = prompt_json(prompts[i]);
    p["index"] = i;
    p["prompt_id"] = prompt_id(prompts[i]);
    prompt_list.push_back(p);
  }
  json config{
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
  // A served model: what the server said about itself, the request options.
  if (!info.server_json.empty()) config["server"] = parse_json(info.server_json);
  return config;
}

}  // namespace detllm::internal
