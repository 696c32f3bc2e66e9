// replay(): a pack's check run again from its run_config.json, compared with
// what the pack found.
#include "detllm_test/replay.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "check/run_config.h"
#include "detllm_test/check.h"
#include "detllm_test/error.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/models.h"

namespace detllm {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<Prompt> prompts_of(const json& config) {
  std::vector<Prompt> prompts;
  for (const json& p : config.at("prompts")) {
    if (p.contains("token_ids")) {
      prompts.emplace_back(p["token_ids"].get<TokenIds>());
    } else {
      prompts.emplace_back(p.at("text").get<std::string>());
    }
  }
  return prompts;
}

// The check's options as the pack recorded them (run_config.json's "replay").
CheckOptions options_of(const json& replay) {
  CheckOptions o;
  o.runs = replay.at("runs").get<int>();
  o.batch_size = replay.at("batch_size").get<int>();
  o.vary_batch = replay.at("vary_batch").get<std::vector<int>>();
  o.vary_threads = replay.value("vary_threads", std::vector<int>{});
  o.prefill_vs_decode = replay.value("prefill_vs_decode", false);
  o.needle_trials = replay.at("needle_trials").get<int>();
  o.needle_max_batch_size = replay.at("needle_max_batch_size").get<int>();
  o.preflight = replay.value("preflight", false);
  o.decoding = internal::decoding_from_json(replay.at("decoding"));
  internal::read_determinism_json(replay.at("determinism"), o.determinism);
  return o;
}

// The pack's model files whose hash differs now, as sentences.
std::vector<std::string> model_changes(const json& config, const Generator& model) {
  std::vector<std::string> changes;
  const ModelInfo info = model.info();
  for (const json& recorded : config.value("model_files", json::array())) {
    const std::string name = fs::path(recorded.value("path", "")).filename().string();
    const ModelFile* now = nullptr;
    for (const ModelFile& f : info.files) {
      if (fs::path(f.path).filename().string() == name) now = &f;
    }
    if (!now) {
      changes.push_back("model file '" + name + "' of the pack is not part of the model now");
    } else if (now->sha256 != recorded.value("sha256", "")) {
      changes.push_back("model file '" + now->path + "' differs from the pack's: SHA-256 " +
                        recorded.value("sha256", "") + " in the pack, " + now->sha256 + " now");
    }
  }
  const std::string pack_sha = config.value("model_sha256", "");
  if (changes.empty() && !pack_sha.empty() && pack_sha != info.file_sha256) {
    changes.push_back("model file '" + info.file + "' differs from the pack's: SHA-256 " +
                      pack_sha + " in the pack, " + info.file_sha256 + " now");
  }
  return changes;
}

bool same_divergence(const Report& a, const Report& b) {
  const auto &x = a.first_found(), &y = b.first_found();
  if (!x || !y) return !x && !y;
  return x->category == y->category && x->field == y->field && x->index == y->index &&
         x->token_index == y->token_index && x->left_label == y->left_label &&
         x->right_label == y->right_label && x->left_token == y->left_token &&
         x->right_token == y->right_token;
}

}  // namespace

std::string to_string(ReplayOutcome outcome) {
  switch (outcome) {
    case ReplayOutcome::kReproduced:
      return "REPRODUCED";
    case ReplayOutcome::kDiffers:
      return "DIFFERS";
    case ReplayOutcome::kVanished:
      return "VANISHED";
  }
  return "UNKNOWN";
}

ReplayResult replay(const std::string& pack_dir, const ReplayOptions& options) {
  const json config =
      internal::read_json_file((fs::path(pack_dir) / "run_config.json").string(), "run_config");
  ReplayResult result;
  result.original = report_from_json(
      internal::read_json_file((fs::path(pack_dir) / "report.json").string(), "report"));
  if (!config.is_object() || !config.contains("replay")) {
    throw Error("pack '" + pack_dir +
                "' cannot be replayed: its run_config.json has no \"replay\" settings (written "
                "before replay existed, or by another tool)");
  }
  CheckOptions check_options;
  std::vector<Prompt> prompts;
  std::string spec = options.model;
  try {
    check_options = options_of(config["replay"]);
    prompts = prompts_of(config);
    if (spec.empty()) spec = config.at("model").get<std::string>();
    if (options.model.empty() && config.value("backend", "") == "callable") {
      throw Error("pack '" + pack_dir + "' ran a callable model ('" + spec +
                  "'), which a pack cannot load: give the model to replay with");
    }
  } catch (const json::exception& e) {
    throw Error("pack '" + pack_dir + "' has a malformed run_config.json: " + e.what());
  }
  check_options.out_dir = options.out_dir;
  check_options.keep_passing_pack = false;
  ModelOptions model_options;
  model_options.device = config.value("device", "cpu");
  model_options.dtype = config.value("dtype", "float32");
  auto model = load_model(spec, model_options);
  result.model_changes = model_changes(config, *model);

  const fs::path golden = fs::path(pack_dir) / "golden.jsonl";
  if (fs::exists(golden)) {
    GoldenOptions g;
    g.path = golden.string();
    g.base = check_options;
    g.logprob_ulps = config["replay"].value("golden", json::object()).value("logprob_ulps", 0);
    g.overrides = [check_options](CheckOptions& o) {  // the settings the pack ran with
      o.decoding = check_options.decoding;
      o.batch_size = check_options.batch_size;
      o.determinism = check_options.determinism;
    };
    const GoldenResult now = check_golden(*model, prompts, g);
    result.now = now.report;
    result.pack_dir = now.pack_dir;
  } else {
    const CheckResult now = check(*model, prompts, check_options);
    result.now = now.report;
    result.pack_dir = now.pack_dir;
  }
  if (result.now.passed) {
    result.outcome = result.original.passed ? ReplayOutcome::kReproduced : ReplayOutcome::kVanished;
  } else {
    result.outcome = result.now.category == result.original.category &&
                             same_divergence(result.now, result.original)
                         ? ReplayOutcome::kReproduced
                         : ReplayOutcome::kDiffers;
  }
  return result;
}

}  // namespace detllm
