// replay(): a pack's check run again from its run_config.json, compared with
// what the pack found.
#include "detllm_test/replay.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "artifacts/file_util.h"
#include "artifacts/json_io.h"
#include "artifacts/prompt_json.h"
#include "check/limits.h"
#include "check/run_config.h"
#include "detllm_test/check.h"
#include "detllm_test/error.h"
#include "detllm_test/golden_check.h"
#include "detllm_test/models.h"
#include "detllm_test/openai_model.h"

namespace detllm {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<Prompt> prompts_of(const json& config) {
  std::vector<Prompt> prompts;
  for (const json& p : config.at("prompts")) {
    const std::string where = "run_config.json's prompt #" + std::to_string(prompts.size());
    prompts.push_back(internal::prompt_from_json(p, where));
    // What is replayed must be byte for byte what ran: its id says so.
    const std::string id = internal::string_field(p, "prompt_id", "", where);
    if (!id.empty() && id != prompt_id(prompts.back())) {
      throw Error(where + " is not the prompt that ran: its text hashes to " +
                  prompt_id(prompts.back()) + ", not to its prompt_id " +
                  internal::quote_text(id, 64));
    }
  }
  return prompts;
}

// The model to replay with, loaded only where that runs no code of the pack's
// and sends no credential to a host the pack names (replay.h); says which
// through `announce` first.
std::unique_ptr<Generator> load_replay_model(const std::string& pack_dir, const json& config,
                                             const ReplayOptions& options, std::string& source) {
  const bool named = !options.model.empty();
  const std::string spec = named ? options.model : config.at("model").get<std::string>();
  if (!named && config.value("backend", "") == "callable") {
    throw Error("pack '" + pack_dir + "' ran a callable model (" + internal::quote_text(spec) +
                "), which a pack cannot load: give the model to replay with");
  }
  if (!options.api_key_env.empty() && (!named || !is_endpoint(spec))) {
    throw Error(
        "--api-key-env sends a credential, so it needs the server named with --model URL: a key "
        "never goes to a host the pack names");
  }
  ModelOptions model_options;
  model_options.device = config.value("device", "cpu");
  model_options.dtype = config.value("dtype", "float32");
  const std::string shown = internal::quote_text(spec, 200);
  if (is_endpoint(spec)) {
    OpenAiOptions server = openai_options_from_url(spec);
    if (!named) {
      server.api_key_env.clear();  // whatever variable the pack's URL names, and OPENAI_API_KEY
      source = "contacting the pack's server " + shown +
               " with no credential (name a server with --model URL, its key with --api-key-env)";
    } else {
      if (!options.api_key_env.empty()) server.api_key_env = options.api_key_env;
      source = "contacting the server " + shown + " named with --model" +
               (server.api_key_env.empty()
                    ? std::string(", with no credential")
                    : ", with the key in $" + server.api_key_env + " if it is set");
    }
    if (options.announce) options.announce(source);
    return openai_model(server);
  }
  if (spec.rfind("builtin:", 0) == 0) {
    source = "the " + std::string(named ? "named" : "pack's") + " model " + shown + " (built in)";
  } else if (named) {
    source = "loading " + shown + ", named with --model";
  } else if (options.trust_pack_model) {
    source = "loading the pack's model " + shown + ", trusted with --trust-pack-model";
  } else {
    throw Error("pack '" + pack_dir + "' names the local model " + shown +
                ", which replay loads only when you name it (--model PATH) or trust the pack "
                "(--trust-pack-model): loading a .pt2 or .pt package runs code from the file");
  }
  if (options.announce) options.announce(source);
  return load_model(spec, model_options);
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
  const json config = internal::read_json_file(
      internal::path_inside(pack_dir, "run_config.json", "the pack's run_config.json"),
      "run_config");
  ReplayResult result;
  result.original = report_from_json(internal::read_json_file(
      internal::path_inside(pack_dir, "report.json", "the pack's report.json"), "report"));
  if (!config.is_object() || !config.contains("replay")) {
    throw Error("pack '" + pack_dir +
                "' cannot be replayed: its run_config.json has no \"replay\" settings (written "
                "before replay existed, or by another tool)");
  }
  CheckOptions check_options;
  std::vector<Prompt> prompts;
  std::unique_ptr<Generator> model;
  try {
    check_options = internal::options_from_replay(config["replay"]);
    prompts = prompts_of(config);
    check_options.out_dir = options.out_dir;
    check_options.keep_passing_pack = false;
    // The counts are bounded before anything is loaded or contacted.
    internal::validate_check(prompts, check_options);
    model = load_replay_model(pack_dir, config, options, result.model_source);
  } catch (const json::exception& e) {
    throw Error("pack '" + pack_dir + "' has a malformed run_config.json: " + e.what());
  }
  result.model_changes = model_changes(config, *model);

  const fs::path golden =
      internal::path_inside(pack_dir, "golden.jsonl", "the pack's golden.jsonl");
  std::error_code missing;
  if (fs::exists(golden, missing)) {
    GoldenOptions g;
    g.path = golden.string();
    g.base = check_options;
    const json recorded = config["replay"].value("golden", json::object());
    g.logprob_ulps = recorded.value("logprob_ulps", 0);
    g.tolerance = Tolerance::parse(
        internal::string_field(recorded, "tolerance", "exact", "run_config.json's replay.golden"));
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
