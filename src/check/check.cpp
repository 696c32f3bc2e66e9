// run() and check(), the library's two entry points, and a failing check's
// localisation (explain). Each step is its own file: limits.cpp bounds the
// options, phases.cpp lays out the batches, runner.cpp runs them,
// verdict.cpp compares them, check_pack.cpp writes the repro pack.
#include "detllm_test/check.h"

#include <ATen/Parallel.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "check/check_pack.h"
#include "check/exercise.h"
#include "check/limits.h"
#include "check/pack_defaults.h"
#include "check/phases.h"
#include "check/run_config.h"
#include "check/runner.h"
#include "check/verdict.h"
#include "detllm_test/error.h"
#include "detllm_test/repro_pack.h"
#include "explain/localize.h"

namespace detllm {

using internal::Phase;
using internal::Request;
using nlohmann::json;

RunResult run(Generator& model, const std::vector<Prompt>& prompts, const RunOptions& given) {
  const RunOptions options = internal::with_pack_defaults(given);  // in a test: the test's dir
  internal::validate_run(prompts, options);
  const std::vector<Request> requests = internal::tokenize(model, prompts);
  internal::check_token_positions(requests, options.batch_size, options.decoding);
  const ModelInfo info = model.info();
  std::optional<PackWriter> pack;
  if (!options.out_dir.empty()) pack.emplace(options.out_dir, new_run_id());

  DeterminismScope scope(options.determinism, info.device);
  gate_tier(info, scope.record());
  RunResult result;
  result.determinism = scope.record();
  const json env = capture_env(info, options.env);
  if (result.determinism.capability_failures.empty()) {
    if (options.preflight) internal::run_preflight(model, requests, options);
    result.trace = internal::run_plans(
        model, requests, internal::run_phase(options, requests.size()).plans, options.decoding);
  }
  if (pack) {
    pack->write_json("env.json", env);
    pack->write_json(
        "run_config.json",
        internal::run_config_json(model, options, result.determinism, {}, 1, prompts, env));
    pack->write_json("determinism_applied.json", determinism_applied_json(result.determinism));
    pack->write_trace("trace.jsonl", result.trace);
    result.pack_dir = pack->commit();
  }
  if (!result.determinism.capability_failures.empty()) {
    throw Error("unsupported request: " + result.determinism.capability_failures.front() +
                (result.pack_dir.empty() ? "" : " (pack: " + result.pack_dir + ")"));
  }
  return result;
}

namespace {

// CheckOptions::explain: names the first ATen op that differs between the two
// sides of the first divergence, for the prompt concerned, up to its token:
// both sides' batches are run again as `found` and run 0 ran them.
void explain(Generator& model, const std::vector<Request>& requests, const CheckOptions& options,
             const std::vector<Phase>& phases, const Phase* found, Report& report) {
  const std::optional<Divergence>& d = report.first_found();
  if (!d || d->token_index < 0 || !found) return;
  if (const std::string why = model.info().capabilities.ops_unobservable; !why.empty()) {
    report.notes.push_back("the first differing op is not named: " + why);
    return;
  }
  if (found->kind == Phase::kPrefill) {
    report.notes.push_back(
        "the first differing op is not named for prefill vs decode: the two sides run "
        "different code by design");
    return;
  }
  const int threads = at::get_num_threads();
  const internal::LocalizationSide left =
      internal::side_of(phases.front().plans, d->index, requests, threads);
  const internal::LocalizationSide right = internal::side_of(
      found->plans, d->index, requests, found->threads > 0 ? found->threads : threads);
  GenerationConfig config = options.decoding;
  config.max_new_tokens = d->token_index + 1;
  internal::Localization localization;
  try {
    localization = internal::localize(model, left, right, config);
  } catch (const std::exception& e) {
    localization.why = std::string("localisation failed: ") + e.what();
  }
  localization.add_to(report);
}

// The report's header: what was asked for and what the controls did.
void describe_check(const CheckOptions& options, const ModelInfo& info,
                    const DeterminismRecord& record, const std::vector<Phase>& phases,
                    int threads_in_force, size_t prompts, Report& report) {
  report.tier_requested = record.tier_requested;
  report.tier_effective = record.tier_effective;
  report.mode = to_string(record.mode);
  report.model = info.name;
  report.runs = options.runs;
  report.baseline_batch_size = options.batch_size;
  report.batch_sizes = {options.batch_size};
  for (const int b : values_of(phases, Phase::kBatchSize)) report.batch_sizes.push_back(b);
  report.prompts = static_cast<int>(prompts);
  report.needle_trials = options.needle_trials;
  const std::vector<int> threads = values_of(phases, Phase::kThreads);
  if (!threads.empty()) {
    report.thread_counts = {threads_in_force};
    report.thread_counts.insert(report.thread_counts.end(), threads.begin(), threads.end());
  }
  report.controls = record.summary();
  report.notes = record.warnings;
}

}  // namespace

CheckResult check(Generator& model, const std::vector<Prompt>& prompts, const CheckOptions& given) {
  const CheckOptions options = internal::with_pack_defaults(given);  // in a test: the test's dir
  internal::validate_check(prompts, options);
  const std::vector<Request> requests = internal::tokenize(model, prompts);
  const ModelInfo info = model.info();
  std::optional<PackWriter> pack;
  if (!options.out_dir.empty()) pack.emplace(options.out_dir, new_run_id());

  DeterminismScope scope(options.determinism, info.device);
  DeterminismRecord& record = scope.record();
  gate_tier(info, record);
  // The thread count in force is the scope's (DeterminismOptions::threads).
  const int threads_in_force = at::get_num_threads();
  const std::vector<Phase> phases =
      internal::check_phases(options, requests.size(), threads_in_force);
  internal::check_token_positions(requests, internal::largest_batch(phases), options.decoding);

  CheckResult result;
  Report& report = result.report;
  describe_check(options, info, record, phases, threads_in_force, prompts.size(), report);
  // A phase that exercised nothing is never claimed: the report says so, and
  // strict mode (or any mode, for what no mode makes meaningful) fails on it.
  // True when it fails.
  const auto disclaim = [&](const internal::Unexercised& phase,
                            std::vector<std::string>& failures) {
    if (!phase.always_unsupported && record.mode != Mode::kStrict) {
      report.not_exercised.push_back(phase.why);
      return false;
    }
    failures.push_back(phase.why);
    return true;
  };
  for (const internal::Unexercised& phase : internal::unexercised_phases(info, phases)) {
    disclaim(phase, record.capability_failures);  // before anything runs
  }
  const Phase* found = nullptr;
  std::vector<json> envs;
  if (!record.capability_failures.empty()) {
    report.passed = false;
    report.category = Category::kUnsupportedRequest;
    report.capability_failures = record.capability_failures;
    envs.push_back(capture_env(info, options.env));
  } else {
    internal::run_phases(model, requests, phases, options, result, envs);
    found =
        internal::compare_phases(result, phases, envs, record.tier_effective, model.tokenizer());
    if (!report.passed && options.explain) {
      explain(model, requests, options, phases, found, report);
    }
    // What the server says it ran each batch at: a batch it ran one request
    // at a time is disclaimed once the phases ran.
    internal::ServedConcurrency served = internal::served_concurrency(info, result, phases);
    report.server_concurrency = served.measured;
    for (const internal::Unexercised& phase : served.serialized) {
      if (disclaim(phase, report.capability_failures) && report.passed) {
        report.passed = false;
        report.category = Category::kUnsupportedRequest;
      }
    }
  }
  result.determinism = record;
  // Without keep_passing_pack a passing check leaves nothing: the temporary
  // directory, still empty, goes with the PackWriter.
  if (pack && (options.keep_passing_pack || !result.passed())) {
    internal::write_check_pack(*pack, model, prompts, requests, options, phases, envs, found,
                               result);
  }
  return result;
}

}  // namespace detllm
