// The pipeline of run(), check() and check_golden(), one straight line over
// the check-run context: each step is its own file (limits.cpp bounds the
// options, the planner lays out the phases, runner.cpp runs them,
// verdict.cpp compares them, check_pack.cpp writes the pack); here the order,
// the report's header and a failure's localisation (explain).
#include "check/pipeline.h"

#include <ATen/Parallel.h>

#include <optional>

#include "check/check_pack.h"
#include "check/exercise.h"
#include "check/limits.h"
#include "check/runner.h"
#include "check/verdict.h"
#include "detllm_test/repro_pack.h"
#include "explain/localize.h"

namespace detllm::internal {
namespace {

// CheckOptions::explain: names the first ATen op that differs between the two
// sides of the first divergence, for the prompt concerned, up to its token:
// both sides' batches are run again as the phase that found it and run 0 ran
// them; against a golden, run 0's against the golden's recorded fingerprints.
void explain(CheckRun& run) {
  Report& report = run.result.report;
  const std::optional<Divergence>& d = report.first_found();
  if (!d || d->token_index < 0 || !run.found) return;
  if (const std::string why = run.model.info().capabilities.ops_unobservable; !why.empty()) {
    report.notes.push_back("the first differing op is not named: " + why);
    return;
  }
  if (run.found->kind == PhaseKind::kPrefill) {
    report.notes.push_back(
        "the first differing op is not named for prefill vs decode: the two sides run "
        "different code by design");
    return;
  }
  const GoldenSide* golden = run.found->kind == PhaseKind::kGolden ? run.golden : nullptr;
  if (golden && golden->file.op_fingerprints.size() != golden->file.rows.size()) {
    report.notes.push_back(
        "the first differing op is not named: the golden holds no op fingerprints (recorded "
        "from a callable model, without explain, or by an older detllm); re-record it to have "
        "them");
    return;
  }
  const int threads = at::get_num_threads();
  GenerationConfig config = run.options.decoding;
  config.max_new_tokens = d->token_index + 1;
  Localization localization;
  try {
    const LocalizationSide now = side_of(run.phases.front().plans, d->index, run.requests, threads);
    if (golden) {
      localization =
          localize_against(run.model, now, config, golden->file.op_fingerprints[d->index]);
    } else {
      const int other_threads = run.found->threads > 0 ? run.found->threads : threads;
      const LocalizationSide other =
          side_of(run.found->plans, d->index, run.requests, other_threads);
      localization = localize(run.model, now, other, config);
    }
  } catch (const std::exception& e) {
    localization.why = std::string("localisation failed: ") + e.what();
  }
  localization.add_to(report);
}

// The report's header: what was asked for and what the controls did.
void describe(const CheckRun& run, const ModelInfo& info, const DeterminismRecord& record,
              Report& report) {
  const CheckOptions& options = run.options;
  report.tier_requested = record.tier_requested;
  report.tier_effective = record.tier_effective;
  report.mode = to_string(record.mode);
  report.model = info.name;
  report.runs = static_cast<int>(values_of(run.phases, PhaseKind::kRun).size());
  report.baseline_batch_size = options.batch_size;
  report.batch_sizes = {options.batch_size};
  for (const int b : values_of(run.phases, PhaseKind::kBatchSize)) report.batch_sizes.push_back(b);
  report.prompts = static_cast<int>(run.prompts.size());
  report.needle_trials = options.needle_trials;
  const std::vector<int> threads = values_of(run.phases, PhaseKind::kThreads);
  if (!threads.empty()) {
    report.thread_counts = {run.threads_in_force};
    report.thread_counts.insert(report.thread_counts.end(), threads.begin(), threads.end());
  }
  if (run.golden) report.golden = run.golden->path;
  report.controls = record.summary();
  report.notes = record.warnings;
}

}  // namespace

void execute(CheckRun& run, const PhasePlanner& plan) {
  const CheckOptions& options = run.options;
  if (run.verdict) {
    validate_check(run.prompts, options);
  } else {
    validate_run(run.prompts, options);
  }
  run.requests = tokenize(run.model, run.prompts);
  const ModelInfo info = run.model.info();
  std::optional<PackWriter> pack;  // checks the directory before anything runs
  if (!options.out_dir.empty()) pack.emplace(options.out_dir, new_run_id());

  DeterminismScope scope(options.determinism, info.device);
  DeterminismRecord& record = scope.record();
  gate_tier(info, record);
  // The thread count in force is the scope's (DeterminismOptions::threads).
  run.threads_in_force = at::get_num_threads();
  run.phases = plan(run);
  check_token_positions(run.requests, largest_batch(run.phases), options.decoding);

  CheckResult& result = run.result;
  Report& report = result.report;
  if (run.verdict) describe(run, info, record, report);
  // A phase that exercised nothing is never claimed: the report says so, and
  // strict mode (or any mode, for what no mode makes meaningful) fails on it.
  // True when it fails.
  const auto disclaim = [&](const Unexercised& phase, std::vector<std::string>& failures) {
    if (!phase.always_unsupported && record.mode != Mode::kStrict) {
      report.not_exercised.push_back(phase.why);
      return false;
    }
    failures.push_back(phase.why);
    return true;
  };
  for (const Unexercised& phase : unexercised_phases(info, run.phases)) {
    disclaim(phase, record.capability_failures);  // before anything runs
  }
  if (!record.capability_failures.empty()) {
    report.passed = false;
    report.category = Category::kUnsupportedRequest;
    report.capability_failures = record.capability_failures;
    run.envs.push_back(capture_env(info, options.env));
  } else {
    run_phases(run);
    if (run.verdict) {
      compare_phases(run);
      if (!report.passed && options.explain) explain(run);
      // What the server says it ran each batch at: a batch it ran one request
      // at a time is disclaimed once the phases ran.
      ServedConcurrency served = served_concurrency(info, run);
      report.server_concurrency = served.measured;
      for (const Unexercised& phase : served.serialized) {
        if (disclaim(phase, report.capability_failures) && report.passed) {
          report.passed = false;
          report.category = Category::kUnsupportedRequest;
        }
      }
    }
  }
  result.determinism = record;
  // Without keep_passing_pack a passing check leaves nothing: the temporary
  // directory, still empty, goes with the PackWriter. A run always keeps its.
  if (pack && (!run.verdict || options.keep_passing_pack || !result.passed())) {
    write_pack(*pack, run);
  }
}

}  // namespace detllm::internal
