// check_golden(): the check pipeline with run 0 and the golden's phase (its
// rows read from the file), under the golden's settings; or one run recorded
// as the new golden, with op fingerprints for naming the op that moved.
#include "detllm_test/golden_check.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "artifacts/json_io.h"
#include "artifacts/prompt_json.h"
#include "check/batch_plan.h"
#include "check/calibration.h"
#include "check/pack_defaults.h"
#include "check/phases.h"
#include "check/pipeline.h"
#include "check/run_config.h"
#include "detllm_test/env_snapshot.h"
#include "detllm_test/error.h"
#include "detllm_test/golden.h"
#include "explain/localize.h"

namespace detllm {

using nlohmann::json;

namespace {

json settings_json(const CheckOptions& o, const std::vector<Prompt>& prompts,
                   const std::vector<TraceRow>& rows) {
  json prompt_list = json::array();
  for (size_t i = 0; i < prompts.size(); ++i) {
    json p = prompts[i].has_ids ? json{{"text", nullptr}} : internal::prompt_json(prompts[i]);
    p["index"] = i;
    p["input_token_ids"] = rows[i].input_token_ids;
    prompt_list.push_back(p);
  }
  json settings = internal::determinism_json(o.determinism);
  settings["batch_size"] = o.batch_size;
  settings["decoding"] = internal::decoding_json(o.decoding);
  settings["prompts"] = prompt_list;
  return settings;
}

// The golden's settings applied to `o`; throws naming a field of the wrong type.
void apply_settings(const json& s, const std::string& path, CheckOptions& o) {
  try {
    internal::read_determinism_json(s, o.determinism);
    o.batch_size = s.at("batch_size").get<int>();
    o.decoding = internal::decoding_from_json(s.at("decoding"));
  } catch (const json::exception& e) {
    throw Error("golden '" + path + "' has bad settings: " + e.what());
  }
}

json model_json(const Generator& model) {
  const ModelInfo info = model.info();
  json files = internal::model_files_json(info.files);
  if (files.empty() && !info.file.empty()) {
    files.push_back({{"path", info.file}, {"sha256", info.file_sha256}});
  }
  return {{"name", info.name},   {"backend", info.backend},
          {"dtype", info.dtype}, {"device", info.device},
          {"files", files},      {"tokenizer_id", model.tokenizer().id()}};
}

// `object[key]` if it is a string, else "": a golden's model block is read
// from a file anyone can edit.
std::string text_of(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// What names a model's weights on any machine: its files' SHA-256s (paths
// differ between machines), a server's served model id (its URL differs
// between runs), else its name ("builtin:tiny").
std::string model_identity(const json& model) {
  const std::string backend = text_of(model, "backend"), name = text_of(model, "name");
  std::vector<std::string> hashes;
  const auto files = model.find("files");
  if (files != model.end() && files->is_array()) {
    for (const json& f : *files) {
      if (f.is_object() && !text_of(f, "sha256").empty()) hashes.push_back(text_of(f, "sha256"));
    }
  }
  std::sort(hashes.begin(), hashes.end());
  std::string identity = backend;
  for (const std::string& hash : hashes) identity += " " + hash;
  if (!hashes.empty()) return identity;
  const size_t served = backend == "openai" ? name.find("?model=") : std::string::npos;
  if (served == std::string::npos) return identity + " " + name;
  const size_t from = served + 7;  // "?model=NAME&...": the served model's id
  return identity + " " + name.substr(from, name.find('&', from) - from);
}

// The golden's model when it is not this one, as a sentence; "" when it is.
std::string other_model(const Golden& golden, const Generator& model, const std::string& path) {
  const json now = model_json(model);
  if (!golden.model.is_object() || model_identity(golden.model) == model_identity(now)) return "";
  return "golden '" + path + "' was recorded for model " +
         internal::quote_text(text_of(golden.model, "name"), 80) + ", not for this model " +
         internal::quote_text(text_of(now, "name"), 80) + " (other weights or another model)";
}

CheckOptions settled(const GoldenOptions& options, const Golden* golden) {
  CheckOptions o = options.base;
  if (golden) apply_settings(golden->settings, options.path, o);
  if (options.overrides) options.overrides(o);
  // At tier 0 nothing is asserted: a golden that says tier 0 would pass any
  // model, so none is compared or recorded there.
  if (o.determinism.tier == 0) {
    throw Error("golden '" + options.path + "' at tier 0 would assert nothing: goldens are " +
                "recorded and compared at tier 1 (tokens) or 2 (bitwise logprobs)" +
                (golden && golden->settings.value("tier", json()) == 0
                     ? std::string("; the file's settings say tier 0: record it again at "
                                   "tier 1 or 2")
                     : std::string()));
  }
  o.decoding.capture_logprobs = true;  // a golden always keeps them, for tier 2 later
  o.runs = 1;
  return internal::with_pack_defaults(o);  // in a test: the test's directory, as check()
}

bool observable(const Generator& model, const CheckOptions& o) {
  return o.explain && model.info().capabilities.ops_unobservable.empty();
}

// Each prompt's op fingerprints, its batches run again as they ran, with the
// golden's controls; empty if the model's ops cannot be observed.
std::vector<std::vector<std::string>> fingerprints_of(const internal::CheckRun& run) {
  Generator& model = run.model;
  const CheckOptions& o = run.options;
  if (!observable(model, o)) return {};
  DeterminismScope scope(o.determinism, model.info().device);
  std::vector<std::vector<std::string>> out(run.requests.size());
  for (const internal::BatchPlan& plan : run.phases.front().plans) {
    const auto batch =
        internal::op_fingerprints(model, internal::batch_ids(plan, run.requests), o.decoding);
    if (batch.empty()) return {};
    for (size_t slot = 0; slot < plan.slots.size(); ++slot) {
      if (plan.slots[slot] >= 0) out[plan.slots[slot]] = batch[slot];
    }
  }
  return out;
}

// Run 0 alone: the phase a golden is recorded from and compared with.
std::vector<internal::Phase> run_alone(const internal::CheckRun& run) {
  return {internal::run_phase(run.options, run.requests.size())};
}

GoldenResult record(Generator& model, const std::vector<Prompt>& prompts,
                    const GoldenOptions& options) {
  const char* ci = std::getenv("CI");
  const char* update = std::getenv("DETLLM_UPDATE_GOLDEN");
  const bool forced = options.force || (update && std::string(update) == "force");
  if (ci && *ci && !forced) {
    throw Error(
        "refusing to record golden '" + options.path +
        "': CI is set, and a CI job must never bless its own outputs (record it on the "
        "reference machine, or force it with DETLLM_UPDATE_GOLDEN=force or --force-update-golden)");
  }
  std::optional<Golden> before;
  if (std::filesystem::exists(options.path)) {
    try {
      before = read_golden(options.path);
    } catch (const Error&) {
      // A corrupt golden is simply replaced.
    }
  }
  CheckOptions o = settled(options, before ? &*before : nullptr);
  o.out_dir.clear();  // the golden file is what recording writes
  internal::CheckRun run(model, prompts, o);
  run.verdict = false;
  internal::execute(run, run_alone);
  if (!run.result.determinism.capability_failures.empty()) {
    throw Error("unsupported request: " + run.result.determinism.capability_failures.front());
  }
  Golden golden;
  golden.rows = run.result.runs.at(0);
  golden.settings = settings_json(o, prompts, golden.rows);
  golden.model = model_json(model);
  golden.env = capture_env(model.info(), o.env);
  golden.op_fingerprints = fingerprints_of(run);
  if (options.calibrate && !o.decoding.do_sample) {  // settled() always captures logprobs
    golden.calibration = internal::calibrate(run);
  }
  write_golden(options.path, golden);

  GoldenResult result;
  result.recorded = true;
  result.changes = golden_changes(before, golden);
  result.runs = std::move(run.result.runs);
  result.determinism = std::move(run.result.determinism);
  result.report.golden = options.path;
  result.report.runs = 1;
  result.report.model = model.info().name;
  return result;
}

}  // namespace

bool golden_update_requested() {
  const char* update = std::getenv("DETLLM_UPDATE_GOLDEN");
  return update && (std::string(update) == "1" || std::string(update) == "force");
}

GoldenResult check_golden(Generator& model, const std::vector<Prompt>& prompts,
                          const GoldenOptions& options) {
  if (options.path.empty()) throw Error("no golden file given");
  if (options.update || golden_update_requested()) return record(model, prompts, options);
  if (!std::filesystem::exists(options.path)) {
    throw Error("golden '" + options.path +
                "' does not exist: record it with DETLLM_UPDATE_GOLDEN=1 (or detllm check ... "
                "--golden " +
                options.path + " --update-golden)");
  }
  internal::GoldenSide side;
  side.path = options.path;
  side.file = read_golden(options.path);
  const Golden& golden = side.file;
  side.logprob_ulps = options.logprob_ulps;
  side.other_model = other_model(golden, model, options.path);
  side.tolerance = options.tolerance;
  side.asked = options.tolerance.to_string();
  if (options.tolerance.kind == Tolerance::Kind::kAuto) {
    side.tolerance = resolve_auto(golden.calibration, options.path);
    side.calibration = internal::describe_calibration(golden.calibration);
  }
  internal::CheckRun run(model, prompts, settled(options, &golden));
  if (side.tolerance.kind != Tolerance::Kind::kExact && run.options.decoding.do_sample) {
    throw Error("golden '" + options.path +
                "' was recorded with sampling: a tolerance compares greedy goldens, whose "
                "tokens are the model's top-1");
  }
  run.golden = &side;
  internal::execute(run, [&side](const internal::CheckRun& r) {
    internal::Phase now = internal::run_phase(r.options, r.requests.size());
    now.teacher_forced = side.tolerance.kind != Tolerance::Kind::kExact;
    return std::vector<internal::Phase>{now, internal::golden_phase()};
  });
  GoldenResult result;
  static_cast<CheckResult&>(result) = std::move(run.result);
  return result;
}

}  // namespace detllm
