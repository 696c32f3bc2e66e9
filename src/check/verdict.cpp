// The verdict of a check. One loop over the report's divergence kinds, each
// comparing the phases that fill it (comparisons.h); then what no single
// comparison shows (distinct outputs, a cold first run, the environment, the
// server's cache and restarts, the golden's recording, logprob notes), and
// the category: the first divergence found decides, else the environment,
// and tier 0 asserts nothing.
#include "check/verdict.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "artifacts/golden_drift.h"
#include "check/comparisons.h"

namespace detllm::internal {
namespace {

using nlohmann::json;

// The key under which two runs count as the same output.
std::string output_key(const Trace& trace, bool with_scores) {
  json key = json::array();
  for (const TraceRow& row : trace) {
    key.push_back(row.generated_token_ids);
    if (with_scores) key.push_back(row.scores ? json(*row.scores) : json(nullptr));
  }
  return key.dump();
}

// A golden's prompts that are not the ones asked for now, as a
// GEN_CONTEXT_MISMATCH: teacher forcing scores the golden's own sequences,
// so other prompts must be refused before anything is compared.
std::optional<Divergence> other_prompts(const Trace& golden, const std::vector<Request>& requests) {
  for (size_t i = 0; i < std::max(golden.size(), requests.size()); ++i) {
    if (i < golden.size() && i < requests.size() && golden[i].input_token_ids == requests[i].ids) {
      continue;
    }
    Divergence d;
    d.category = Category::kGenContextMismatch;
    d.field = "input_token_ids";
    d.index = static_cast<int>(i);
    d.left_label = "golden";
    d.right_label = "now";
    d.detail = golden.size() != requests.size()
                   ? "the golden holds " + std::to_string(golden.size()) + " prompts, not " +
                         std::to_string(requests.size())
                   : "prompt #" + std::to_string(i) + " is not the golden's prompt";
    return d;
  }
  return std::nullopt;
}

// Run 0 against every phase that fills `kind`'s finding (the golden: the
// golden against run 0), stopping at the first divergence; returns the phase
// that found it. The divergence's text is read from its left side.
const Phase* compare_kind(CheckRun& run, const DivergenceKind& kind, bool compare_scores) {
  std::optional<Divergence>& finding = run.result.report.*kind.member;
  const Phase& run0 = run.phases.front();
  for (const Phase& phase : run.phases) {
    const Comparison& c = comparison_of(phase.kind);
    if (c.finding != kind.member || &phase == &run0) continue;
    const Trace& other = trace_of(run, phase);
    const Trace& now = run.result.runs.at(0);
    const int64_t ulps =
        run.golden && phase.kind == PhaseKind::kGolden ? run.golden->logprob_ulps : 0;
    const Trace& left = c.phase_is_left ? other : now;
    const Trace& right = c.phase_is_left ? now : other;
    if (phase.kind == PhaseKind::kGolden && run.golden->tolerance.kind != Tolerance::Kind::kExact) {
      // Teacher-forced: run 0 scored the golden's tokens; the tolerance judges
      // — the same prompts first.
      finding = other_prompts(left, run.requests);
      if (finding) return &phase;
      GoldenDrift drift = measure_drift(left, right, run.golden->tolerance, compare_scores);
      drift.calibration = run.golden->calibration;
      if (drift.failure) finding = drift_divergence(drift, left);
      run.result.report.golden_drift = std::move(drift);
    } else {
      finding =
          c.phase_is_left
              ? diff_traces(left, right,
                            {c.category, compare_scores, phase.label, phase.left_label, ulps})
              : diff_traces(left, right,
                            {c.category, compare_scores, phase.left_label, phase.label, ulps});
    }
    if (!finding) continue;
    finding->left_trace = c.phase_is_left ? phase.trace_file : run0.trace_file;
    finding->right_trace = c.phase_is_left ? run0.trace_file : phase.trace_file;
    if (phase.kind == PhaseKind::kNeedle && finding->index >= 0 &&
        finding->index < static_cast<int>(right.size())) {
      // A needle trial's batches differ per prompt: name this one's.
      const TraceRow& row = right[finding->index];
      finding->right_label += " (batch size " + std::to_string(row.batch_size) + ", position " +
                              std::to_string(row.batch_position) + ")";
    }
    describe_text(*finding, left, run.model.tokenizer());
    return &phase;
  }
  return nullptr;
}

// With runs that diverged: when runs 1.. all agree with each other, only the
// first call differed — a cold start (lazy initialisation, autotuning), not
// noise in every run.
bool cold_start_differs(const CheckResult& result, bool compare_scores) {
  if (result.runs.size() < 3) return false;
  for (size_t r = 2; r < result.runs.size(); ++r) {
    if (diff_traces(result.runs[1], result.runs[r],
                    {Category::kRunVarianceFixedBatch, compare_scores})) {
      return false;
    }
  }
  return true;
}

// Below tier 2 logprobs are not asserted, but a reader should still learn
// that they moved, in which phase first, and how to assert them: a server's
// batch that keeps its tokens but moves its logprobs passes at tier 1.
void note_unasserted_logprobs(CheckRun& run) {
  const Trace& run0 = run.result.runs.at(0);
  for (const Phase& phase : run.phases) {
    if (&phase == &run.phases.front() || phase.kind == PhaseKind::kPrefill) continue;
    const std::optional<Divergence> d =
        diff_traces(run0, trace_of(run, phase), {Category::kScoreVariance, true});
    if (!d) continue;
    const Comparison& c = comparison_of(phase.kind);
    run.result.report.notes.push_back(
        c.phase_is_left ? "logprobs differ from the " + phase.label + " (not asserted below tier 2)"
                        : "logprobs differ between " + phase.left_label + " and " + phase.label +
                              " (not asserted below tier 2; tier 2 would fail as "
                              "SCORE_VARIANCE)");
    return;
  }
}

// Needle trials counted, not only compared: per prompt, the distinct
// completions among run 0 and the trials; per generated token, how many
// (prompt, trial) pairs first left run 0 there.
void count_needle_outcomes(CheckResult& result) {
  if (result.needle_traces.empty()) return;
  const Trace& run0 = result.runs.at(0);
  std::vector<std::set<TokenIds>> completions(run0.size());
  for (size_t i = 0; i < run0.size(); ++i) completions[i].insert(run0[i].generated_token_ids);
  std::map<int, int> first_divergences;
  for (const Trace& trial : result.needle_traces) {
    for (size_t i = 0; i < std::min(run0.size(), trial.size()); ++i) {
      const TokenIds &before = run0[i].generated_token_ids, &now = trial[i].generated_token_ids;
      completions[i].insert(now);
      const auto differ = std::mismatch(before.begin(), before.end(), now.begin(), now.end());
      if (differ.first != before.end() || differ.second != now.end()) {
        ++first_divergences[static_cast<int>(differ.first - before.begin())];
      }
    }
  }
  Report& report = result.report;
  for (const auto& distinct : completions) {
    report.needle_distinct_completions.push_back(static_cast<int>(distinct.size()));
  }
  for (const auto& [token, trials] : first_divergences) {
    report.needle_divergence_positions.push_back({token, trials});
  }
}

// A server restarted during the check (its /metrics counters went back): the
// phases before and after were served by two processes. Said in a note; where
// a divergence's right side ran after the restart, named as a likely cause.
void read_restart_evidence(CheckRun& run) {
  const std::vector<Phase>& phases = run.phases;
  Report& report = run.result.report;
  const Phase* restarted = nullptr;
  for (const Phase& phase : phases) {
    const Trace& trace = trace_of(run, phase);
    if (std::any_of(trace.begin(), trace.end(),
                    [](const TraceRow& row) { return row.server_restarted; })) {
      restarted = &phase;
      break;
    }
  }
  if (restarted == nullptr) return;
  report.notes.push_back("the server restarted before " + restarted->label +
                         " (its /metrics counters went back): the phases before it and from it "
                         "on were served by two processes");
  const size_t at = static_cast<size_t>(restarted - phases.data());
  for (const DivergenceKind& kind : divergence_kinds()) {
    const std::optional<Divergence>& d = report.*kind.member;
    if (!d) continue;
    for (size_t i = at; i < phases.size(); ++i) {
      if (phases[i].label == d->right_label ||
          d->right_label.rfind(phases[i].label + " (", 0) == 0) {
        report.likely_causes.push_back("server restart: " + d->right_label +
                                       " ran on a server restarted after " + d->left_label +
                                       " (its /metrics counters went back)");
        return;
      }
    }
  }
}

// The server's own word on its prompt cache: per run, the prompt tokens it
// served from it. When the run that diverged from run 0 was served from the
// cache and run 0 was not, the cache is the likely cause, named with the
// counts — not a "cold start" of a server loaded long before.
void read_cache_evidence(CheckResult& result) {
  Report& report = result.report;
  bool said = false;
  for (const Trace& run : result.runs) {
    int total = -1;
    for (const TraceRow& row : run) {
      if (row.cached_prompt_tokens >= 0) total = std::max(total, 0) + row.cached_prompt_tokens;
    }
    said = said || total >= 0;
    report.prompt_cache_tokens.push_back(total);
  }
  if (!said) {
    report.prompt_cache_tokens.clear();
    return;
  }
  // Runs after run 0 that the server says took nothing from its cache were
  // not warm runs, whatever the check expected of them: said, not claimed.
  if (report.prompt_cache_tokens.size() > 1 &&
      std::all_of(report.prompt_cache_tokens.begin() + 1, report.prompt_cache_tokens.end(),
                  [](int n) { return n == 0; })) {
    report.notes.push_back(
        "no run was served from the server's prompt cache (its counts say 0 tokens in every run "
        "after run 0): repeated runs compared cold with cold, and a cache effect was not "
        "exercised");
  }
  const std::optional<Divergence>& d = report.first_divergence;
  const std::string run_label = "run ";
  if (!d || d->index < 0 || d->right_label.rfind(run_label, 0) != 0) return;
  const size_t r = std::stoul(d->right_label.substr(run_label.size()));
  if (r >= result.runs.size() || static_cast<size_t>(d->index) >= result.runs[r].size()) return;
  const TraceRow &cold = result.runs[0][d->index], &warm = result.runs[r][d->index];
  if (cold.cached_prompt_tokens >= 0 && warm.cached_prompt_tokens > cold.cached_prompt_tokens) {
    report.likely_causes.push_back(
        "prompt cache: " + d->right_label + " was served " +
        std::to_string(warm.cached_prompt_tokens) + " of prompt #" +
        std::to_string(warm.prompt_index) + "'s " + std::to_string(warm.input_token_ids.size()) +
        " tokens from the server's prompt cache, run 0 " +
        (cold.cached_prompt_tokens == 0 ? std::string("none")
                                        : std::to_string(cold.cached_prompt_tokens)) +
        ": warm against cold");
    report.cold_start_differs = false;
  }
}

// The golden's own evidence: the environment it was recorded in, the
// tolerance it was compared with, and whether it is this model's at all — a
// golden of another model is said always, and fails in strict mode, where a
// gate must be about the model it names.
void read_golden_evidence(CheckRun& run) {
  Report& report = run.result.report;
  const GoldenSide& golden = *run.golden;
  if (report.tier_effective >= 2 && golden.logprob_ulps > 0) {
    report.notes.push_back("logprobs within " + std::to_string(golden.logprob_ulps) +
                           " float32 ULPs of the golden's count as equal");
  }
  // Teacher forcing scores one sequence per forward pass: whatever the
  // golden's batches did is not exercised, and a PASS must not claim it.
  if (report.golden_drift && run.options.batch_size > 1) {
    report.not_exercised.push_back(
        "batch size " + std::to_string(run.options.batch_size) +
        " (the golden's): teacher forcing scores one sequence per forward pass, so batching was "
        "not exercised (the exact comparison and EXPECT_BATCH_INVARIANT check it)");
  }
  if (report.golden_drift && !report.golden_drift->failure && !report.golden_drift->exact) {
    report.notes.push_back(drift_note(*report.golden_drift));
  }
  report.env_differences = env_differences(golden.file.env, run.envs.at(0));
  report.likely_causes = env_likely_causes(golden.file.env, run.envs.at(0));
  if (golden.other_model.empty()) return;
  if (run.options.determinism.mode == Mode::kStrict && !report.first_divergence) {
    Divergence d;
    d.category = Category::kGenContextMismatch;
    d.field = "model";
    d.left_label = "golden";
    d.right_label = "now";
    d.detail = golden.other_model;
    report.first_divergence = d;
  } else {
    report.notes.push_back(golden.other_model);
  }
}

// The first divergence found decides; a comparison whose logprobs alone
// differing fail as its own category (prefill vs decode, the golden) says so.
Category category_of(const CheckRun& run) {
  const Report& report = run.result.report;
  if (const std::optional<Divergence>& d = report.first_found()) {
    if (run.found) {
      const Comparison& c = comparison_of(run.found->kind);
      if (c.scores_fail_as_category &&
          (d->category == Category::kScoreVariance || d->category == c.category)) {
        return c.category;
      }
    }
    return d->category;
  }
  return report.env_mismatch_run >= 0 ? Category::kEnvMismatch : Category::kPass;
}

}  // namespace

void compare_phases(CheckRun& run) {
  CheckResult& result = run.result;
  Report& report = result.report;
  const bool compare_scores = report.tier_effective >= 2;
  std::set<std::string> outputs;
  for (const Trace& trace : result.runs) outputs.insert(output_key(trace, compare_scores));
  report.distinct_outputs = static_cast<int>(outputs.size());
  report.prefill_compared = !values_of(run.phases, PhaseKind::kPrefill).empty();

  run.found = nullptr;  // first in divergence_kinds() order, as first_found()
  for (const DivergenceKind& kind : divergence_kinds()) {
    const Phase* phase = compare_kind(run, kind, compare_scores);
    if (!run.found) run.found = phase;
  }
  if (report.first_divergence)
    report.cold_start_differs = cold_start_differs(result, compare_scores);
  const std::vector<json>& envs = run.envs;
  for (size_t r = 1; r < envs.size() && report.env_mismatch_run < 0; ++r) {
    if (envs[r]["fingerprint"] != envs[0]["fingerprint"]) {
      report.env_mismatch_run = static_cast<int>(r);
      report.env_differences = env_differences(envs[0], envs[r]);
    }
  }
  if (!compare_scores && !report.first_divergence) note_unasserted_logprobs(run);
  count_needle_outcomes(result);
  read_cache_evidence(result);
  read_restart_evidence(run);
  if (run.golden) read_golden_evidence(run);
  Category category = category_of(run);
  if (report.tier_effective == 0 && category != Category::kPass) {
    report.notes.push_back("observed " + to_string(category) + " (not asserted at tier 0)");
    category = Category::kPass;
  }
  report.category = category;
  report.passed = category == Category::kPass;
}

}  // namespace detllm::internal
