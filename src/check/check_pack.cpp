// The repro pack of a run, a check or a golden check. A passing check's runs
// usually have the same environment and the same trace: those are written
// once and linked, since creating a file costs far more than the bytes in it.
#include "check/check_pack.h"

#include "artifacts/file_util.h"
#include "check/comparisons.h"
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
std::string html_of(CheckRun& run) {
  const Report& report = run.result.report;
  const std::optional<Divergence>& d = report.first_found();
  const TraceRow* left = nullptr;
  const TraceRow* right = nullptr;
  if (d && run.found && !run.result.runs.empty() && d->index >= 0) {
    const bool phase_is_left = comparison_of(run.found->kind).phase_is_left;
    const Trace& other = trace_of(run, *run.found);
    const Trace& now = run.result.runs[0];
    const Trace& l = phase_is_left ? other : now;
    const Trace& r = phase_is_left ? now : other;
    if (d->index < static_cast<int>(l.size()) && d->index < static_cast<int>(r.size())) {
      left = &l[d->index];
      right = &r[d->index];
    }
  }
  return render_html(report, left, right, &run.model.tokenizer());
}

}  // namespace

void write_pack(PackWriter& pack, CheckRun& run) {
  CheckResult& result = run.result;
  Report& report = result.report;
  if (run.verdict) report.pack_dir = pack.final_path();
  if (result.runs.empty() || !run.verdict) {  // run(), or nothing ran: what there is
    pack.write_json("env.json", run.envs.at(0));
    pack.write_trace("trace.jsonl", result.runs.empty() ? Trace{} : result.runs[0]);
  } else {
    PhaseFiles files(pack);
    for (const Phase& phase : run.phases) {
      if (phase.kind == PhaseKind::kRun) {
        files.add_run(phase, run.envs.at(phase.value), trace_of(run, phase));
      } else if (phase.kind == PhaseKind::kGolden) {
        // The golden as it was, byte for byte: `detllm diff` reads it as a trace.
        pack.write_text(phase.trace_file, read_file(run.golden->path, "golden"));
        pack.write_json("golden_env.json", run.golden->file.env);
      } else {
        files.add(phase, trace_of(run, phase));
      }
    }
  }
  const CheckOptions& options = run.options;
  json config = run_config_json(
      run.model, options, result.determinism, values_of(run.phases, PhaseKind::kBatchSize),
      static_cast<int>(values_of(run.phases, PhaseKind::kRun).size()), run.prompts, run.envs.at(0));
  if (run.verdict) config["replay"] = replay_json(options, run.phases, run.requests);
  if (run.golden) {
    // The tolerance as asked for: auto is resolved again from the golden.
    config["replay"]["golden"] = {{"logprob_ulps", run.golden->logprob_ulps},
                                  {"tolerance", run.golden->asked}};
  }
  pack.write_json("run_config.json", config);
  pack.write_json("determinism_applied.json", determinism_applied_json(result.determinism));
  if (run.verdict) {
    pack.write_report(report);
    if (!report.passed || report.first_found()) pack.write_text("report.html", html_of(run));
  }
  result.pack_dir = pack.commit();
}

}  // namespace detllm::internal
