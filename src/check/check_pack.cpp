// A check's repro pack. A passing check's runs usually have the same
// environment and the same trace: those are written once and linked, since
// creating a file costs far more than the bytes in it.
#include "check/check_pack.h"

#include "check/run_config.h"

namespace detllm::internal {
namespace {

using nlohmann::json;

// Writes each phase's trace, and each run's environment snapshot, linking
// those equal to run 0's.
class PhaseFiles {
 public:
  explicit PhaseFiles(PackWriter& pack) : pack_(&pack) {}

  void add_run(const Phase& run, const json& env, const Trace& trace) {
    // Compared as written, so that no field of a row can be missed; each
    // trace is serialized once, run 0's kept for the later runs.
    std::string jsonl = to_jsonl(trace);
    const std::string env_name = "envs/run_" + std::to_string(run.value) + ".json";
    if (run.value == 0) {
      pack_->write_json("env.json", env);
      first_fingerprint_ = env["fingerprint"];
      pack_->write_text(run.trace_file, jsonl);
      pack_->write_same_as("trace.jsonl", run.trace_file);
      first_file_ = run.trace_file;
      first_jsonl_ = std::move(jsonl);
    } else if (jsonl == first_jsonl_) {
      pack_->write_same_as(run.trace_file, first_file_);
    } else {
      pack_->write_text(run.trace_file, jsonl);
    }
    if (env["fingerprint"] == first_fingerprint_) {
      pack_->write_same_as(env_name, "env.json");
    } else {
      pack_->write_json(env_name, env);
    }
  }
  void add(const Phase& phase, const Trace& trace) { pack_->write_trace(phase.trace_file, trace); }

 private:
  PackWriter* pack_;
  json first_fingerprint_;
  std::string first_file_;
  std::string first_jsonl_;
};

// report.html, with both sides' rows of the prompt that diverged.
std::string html_of(const Report& report, CheckResult& result, const Phase* found,
                    const Tokenizer& tokenizer) {
  const std::optional<Divergence>& d = report.first_found();
  const TraceRow* left = nullptr;
  const TraceRow* right = nullptr;
  if (d && found && !result.runs.empty() && d->index >= 0) {
    const Trace& right_trace = trace_of(result, *found);
    if (d->index < static_cast<int>(result.runs[0].size()) &&
        d->index < static_cast<int>(right_trace.size())) {
      left = &result.runs[0][d->index];
      right = &right_trace[d->index];
    }
  }
  return render_html(report, left, right, &tokenizer);
}

}  // namespace

void write_check_pack(PackWriter& pack, Generator& model, const std::vector<Prompt>& prompts,
                      const std::vector<Request>& requests, const CheckOptions& options,
                      const std::vector<Phase>& phases, const std::vector<json>& envs,
                      const Phase* found, CheckResult& result) {
  Report& report = result.report;
  report.pack_dir = pack.final_path();
  if (result.runs.empty()) {  // nothing ran (an unsupported request): what there is
    pack.write_json("env.json", envs[0]);
    pack.write_trace("trace.jsonl", {});
  } else {
    PhaseFiles files(pack);
    for (const Phase& phase : phases) {
      if (phase.kind == Phase::kRun) {
        files.add_run(phase, envs.at(phase.value), trace_of(result, phase));
      } else {
        files.add(phase, trace_of(result, phase));
      }
    }
  }
  json config =
      run_config_json(model, options, result.determinism, values_of(phases, Phase::kBatchSize),
                      options.runs, prompts, envs[0]);
  config["replay"] = replay_json(options, phases, requests);
  pack.write_json("run_config.json", config);
  pack.write_json("determinism_applied.json", determinism_applied_json(result.determinism));
  pack.write_json("report.json", to_json(report));
  pack.write_text("report.txt", render_text(report) + "repro pack: " + report.pack_dir + "\n");
  if (const auto& divergence = report.first_found()) {
    pack.write_json("diffs/first_divergence.json", to_json(*divergence));
  }
  if (!report.passed) {
    pack.write_text("report.html", html_of(report, result, found, model.tokenizer()));
  }
  result.pack_dir = pack.commit();
}

}  // namespace detllm::internal
