// The verdict of a check. One loop over the report's divergence kinds, each
// comparing the phases that fill it; then what no single comparison shows
// (distinct outputs, a cold first run, the environment, logprob notes), and
// the category: the first divergence found decides, else the environment,
// and tier 0 asserts nothing.
#include "check/verdict.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

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

// Run 0 against every phase that fills `kind`'s finding, stopping at the
// first divergence; returns the phase that found it.
const Phase* compare_kind(CheckResult& result, const std::vector<Phase>& phases,
                          const DivergenceKind& kind, bool compare_scores) {
  std::optional<Divergence>& finding = result.report.*kind.member;
  const Trace& run0 = result.runs.at(0);
  for (const Phase& phase : phases) {
    if (finding_of(phase.kind) != kind.member || &phase == &phases.front()) continue;
    const Trace& right = trace_of(result, phase);
    finding =
        diff_traces(run0, right, {kind.category, compare_scores, phase.left_label, phase.label});
    if (!finding) continue;
    finding->left_trace = phases.front().trace_file;
    finding->right_trace = phase.trace_file;
    if (phase.kind == Phase::kNeedle && finding->index >= 0 &&
        finding->index < static_cast<int>(right.size())) {
      // A needle trial's batches differ per prompt: name this one's.
      const TraceRow& row = right[finding->index];
      finding->right_label += " (batch size " + std::to_string(row.batch_size) + ", position " +
                              std::to_string(row.batch_position) + ")";
    }
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
void note_unasserted_logprobs(CheckResult& result, const std::vector<Phase>& phases) {
  const Trace& run0 = result.runs.at(0);
  for (const Phase& phase : phases) {
    if (&phase == &phases.front() || phase.kind == Phase::kPrefill) continue;
    const std::optional<Divergence> d =
        diff_traces(run0, trace_of(result, phase), {Category::kScoreVariance, true});
    if (!d) continue;
    result.report.notes.push_back("logprobs differ between " + phase.left_label + " and " +
                                  phase.label +
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
void read_restart_evidence(CheckResult& result, const std::vector<Phase>& phases) {
  Report& report = result.report;
  const Phase* restarted = nullptr;
  for (const Phase& phase : phases) {
    const Trace& trace = trace_of(result, phase);
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

Category category_of(const Report& report) {
  if (const std::optional<Divergence>& d = report.first_found()) {
    // Prefill vs decode fails as such, whether tokens or (tier 2) logprobs differ.
    return &d == &report.prefill_divergence ? Category::kPrefillDecodeMismatch : d->category;
  }
  return report.env_mismatch_run >= 0 ? Category::kEnvMismatch : Category::kPass;
}

}  // namespace

const Phase* compare_phases(CheckResult& result, const std::vector<Phase>& phases,
                            const std::vector<json>& envs, int tier_effective,
                            const Tokenizer& tokenizer) {
  Report& report = result.report;
  const bool compare_scores = tier_effective >= 2;
  std::set<std::string> outputs;
  for (const Trace& trace : result.runs) outputs.insert(output_key(trace, compare_scores));
  report.distinct_outputs = static_cast<int>(outputs.size());
  report.prefill_compared = !values_of(phases, Phase::kPrefill).empty();

  const Phase* found = nullptr;  // first in divergence_kinds() order, as first_found()
  for (const DivergenceKind& kind : divergence_kinds()) {
    const Phase* phase = compare_kind(result, phases, kind, compare_scores);
    if (!found) found = phase;
  }
  if (report.first_divergence)
    report.cold_start_differs = cold_start_differs(result, compare_scores);
  for (size_t r = 1; r < envs.size() && report.env_mismatch_run < 0; ++r) {
    if (envs[r]["fingerprint"] != envs[0]["fingerprint"]) {
      report.env_mismatch_run = static_cast<int>(r);
      report.env_differences = env_differences(envs[0], envs[r]);
    }
  }
  if (!compare_scores && !report.first_divergence) note_unasserted_logprobs(result, phases);
  count_needle_outcomes(result);
  read_cache_evidence(result);
  read_restart_evidence(result, phases);
  for (const DivergenceKind& kind : divergence_kinds()) {
    if (std::optional<Divergence>& d = report.*kind.member) {
      describe_text(*d, result.runs[0], tokenizer);
    }
  }
  Category category = category_of(report);
  if (tier_effective == 0 && category != Category::kPass) {
    report.notes.push_back("observed " + to_string(category) + " (not asserted at tier 0)");
    category = Category::kPass;
  }
  report.category = category;
  report.passed = category == Category::kPass;
  return found;
}

}  // namespace detllm::internal
