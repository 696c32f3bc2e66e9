// check_golden(): one run under the golden's settings compared with the golden,
// or recorded as the new one; op fingerprints for naming the op that moved.
#include "detllm_test/golden_check.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "artifacts/file_util.h"
#include "artifacts/json_io.h"
#include "artifacts/prompt_json.h"
#include "check/batch_plan.h"
#include "check/pack_defaults.h"
#include "check/phases.h"
#include "check/run_config.h"
#include "detllm_test/env_snapshot.h"
#include "detllm_test/error.h"
#include "detllm_test/golden.h"
#include "detllm_test/repro_pack.h"
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

std::vector<internal::Request> requests_of(const Trace& rows) {
  std::vector<internal::Request> requests;
  for (const TraceRow& row : rows) {
    requests.push_back(
        {row.input_token_ids, row.input_token_ids_hash, row.prompt_id, row.prompt_index});
  }
  return requests;
}

bool observable(const Generator& model, const CheckOptions& o) {
  return o.explain && model.info().capabilities.ops_unobservable.empty();
}

// Each prompt's op fingerprints, its batches run again as they ran, with the
// golden's controls; empty if the model's ops cannot be observed.
std::vector<std::vector<std::string>> fingerprints_of(Generator& model, const Trace& rows,
                                                      const CheckOptions& o) {
  if (!observable(model, o)) return {};
  DeterminismScope scope(o.determinism, model.info().device);
  const std::vector<internal::Request> requests = requests_of(rows);
  std::vector<std::vector<std::string>> out(rows.size());
  for (const internal::BatchPlan& plan : internal::run_phase(o, rows.size()).plans) {
    const auto batch =
        internal::op_fingerprints(model, internal::batch_ids(plan, requests), o.decoding);
    if (batch.empty()) return {};
    for (size_t slot = 0; slot < plan.slots.size(); ++slot) {
      if (plan.slots[slot] >= 0) out[plan.slots[slot]] = batch[slot];
    }
  }
  return out;
}

// A golden mismatch's first differing op, from the golden's fingerprints.
void explain(Generator& model, const CheckOptions& o, const Golden& golden, const Trace& now,
             Report& report) {
  const Divergence& d = *report.first_divergence;
  if (!observable(model, o) || d.index < 0 || d.token_index < 0) return;
  if (golden.op_fingerprints.size() != golden.rows.size()) {
    report.notes.push_back(
        "the first differing op is not named: the golden holds no op fingerprints (recorded "
        "from a callable model, without explain, or by an older detllm); re-record it to have "
        "them");
    return;
  }
  internal::Localization found;
  try {
    DeterminismScope scope(o.determinism, model.info().device);
    const std::vector<internal::Request> requests = requests_of(now);
    const internal::LocalizationSide side =
        internal::side_of(internal::run_phase(o, now.size()).plans, d.index, requests, 0);
    GenerationConfig config = o.decoding;
    config.max_new_tokens = d.token_index + 1;
    found = internal::localize_against(model, side, config, golden.op_fingerprints[d.index]);
  } catch (const std::exception& e) {
    found.why = std::string("localisation failed: ") + e.what();
  }
  found.add_to(report);
}

RunResult run_once(Generator& model, const std::vector<Prompt>& prompts, CheckOptions o) {
  o.out_dir.clear();  // the golden check writes its own pack
  return run(model, prompts, o);
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
  const CheckOptions o = settled(options, before ? &*before : nullptr);
  RunResult run = run_once(model, prompts, o);
  Golden golden;
  golden.rows = run.trace;
  golden.settings = settings_json(o, prompts, golden.rows);
  golden.model = model_json(model);
  golden.env = capture_env(model.info(), o.env);
  golden.op_fingerprints = fingerprints_of(model, golden.rows, o);
  write_golden(options.path, golden);

  GoldenResult result;
  result.recorded = true;
  result.changes = golden_changes(before, golden);
  result.runs.push_back(std::move(run.trace));
  result.determinism = run.determinism;
  result.report.golden = options.path;
  result.report.runs = 1;
  result.report.model = model.info().name;
  return result;
}

// The comparison's repro pack: both sides, the report, the divergence.
void write_golden_pack(Generator& model, const std::vector<Prompt>& prompts, const CheckOptions& o,
                       const GoldenOptions& options, const Golden& golden, const json& env,
                       GoldenResult& result) {
  PackWriter pack(o.out_dir, new_run_id());
  Report& report = result.report;
  report.pack_dir = pack.final_path();
  if (report.first_divergence) {
    report.first_divergence->left_trace = "golden.jsonl";
    report.first_divergence->right_trace = "trace.jsonl";
  }
  pack.write_json("env.json", env);
  pack.write_json("golden_env.json", golden.env);
  pack.write_trace("trace.jsonl", result.runs[0]);
  pack.write_text("golden.jsonl", internal::read_file(report.golden, "golden"));
  json config = internal::run_config_json(model, o, result.determinism, {}, 1, prompts, env);
  config["replay"] = internal::replay_json(o, {internal::run_phase(o, result.runs[0].size())},
                                           requests_of(result.runs[0]));
  config["replay"]["golden"] = {{"logprob_ulps", options.logprob_ulps}};
  pack.write_json("run_config.json", config);
  pack.write_json("determinism_applied.json", determinism_applied_json(result.determinism));
  pack.write_json("report.json", to_json(report));
  pack.write_text("report.txt", render_text(report) + "repro pack: " + report.pack_dir + "\n");
  if (const auto& d = report.first_divergence) {
    pack.write_json("diffs/first_divergence.json", to_json(*d));
    const bool rows = d->index >= 0 && d->index < static_cast<int>(golden.rows.size()) &&
                      d->index < static_cast<int>(result.runs[0].size());
    pack.write_text("report.html",
                    render_html(report, rows ? &golden.rows[d->index] : nullptr,
                                rows ? &result.runs[0][d->index] : nullptr, &model.tokenizer()));
  }
  result.pack_dir = pack.commit();
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
  const Golden golden = read_golden(options.path);
  const CheckOptions o = settled(options, &golden);
  GoldenResult result;
  RunResult run = run_once(model, prompts, o);
  const json env = capture_env(model.info(), o.env);
  result.determinism = run.determinism;
  result.runs.push_back(std::move(run.trace));

  Report& report = result.report;
  report.golden = options.path;
  report.model = model.info().name;
  report.runs = 1;
  report.prompts = static_cast<int>(prompts.size());
  report.baseline_batch_size = o.batch_size;
  report.batch_sizes = {o.batch_size};
  report.tier_requested = result.determinism.tier_requested;
  report.tier_effective = result.determinism.tier_effective;
  report.mode = to_string(result.determinism.mode);
  report.controls = result.determinism.summary();
  report.notes = result.determinism.warnings;
  const bool compare_scores = report.tier_effective >= 2;
  const DiffOptions diff{Category::kGoldenMismatch, compare_scores, "golden", "now",
                         options.logprob_ulps};
  report.first_divergence = diff_traces(golden.rows, result.runs[0], diff);
  if (!compare_scores && !report.first_divergence &&
      diff_traces(golden.rows, result.runs[0], {Category::kGoldenMismatch, true})) {
    report.notes.push_back("logprobs differ from the golden (not asserted below tier 2)");
  }
  if (compare_scores && options.logprob_ulps > 0) {
    report.notes.push_back("logprobs within " + std::to_string(options.logprob_ulps) +
                           " float32 ULPs of the golden's count as equal");
  }
  report.env_differences = env_differences(golden.env, env);
  report.likely_causes = env_likely_causes(golden.env, env);
  // A golden of another model: said always; a failure in strict mode, where a
  // gate must be about the model it names.
  const std::string other = other_model(golden, model, options.path);
  if (!other.empty() && o.determinism.mode == Mode::kStrict && !report.first_divergence) {
    Divergence d;
    d.category = Category::kGenContextMismatch;
    d.field = "model";
    d.left_label = "golden";
    d.right_label = "now";
    d.detail = other;
    report.first_divergence = d;
  } else if (!other.empty()) {
    report.notes.push_back(other);
  }
  if (const auto& d = report.first_divergence) {
    describe_text(*report.first_divergence, golden.rows, model.tokenizer());
    const bool output_changed =
        d->category == Category::kGoldenMismatch || d->category == Category::kScoreVariance;
    report.category = output_changed ? Category::kGoldenMismatch : d->category;
    if (output_changed) explain(model, o, golden, result.runs[0], report);
  }
  if (report.tier_effective == 0 && report.category != Category::kPass) {
    report.notes.push_back("observed " + to_string(report.category) + " (not asserted at tier 0)");
    report.category = Category::kPass;
  }
  report.passed = report.category == Category::kPass;
  if (!o.out_dir.empty() && (o.keep_passing_pack || !report.passed)) {
    write_golden_pack(model, prompts, o, options, golden, env, result);
  }
  return result;
}

}  // namespace detllm
