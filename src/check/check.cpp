// run() and check(): prompts tokenized and checked against the limits, the
// plans run into traces, the traces compared into a verdict, the pack written;
// and localisation of the first divergence (explain).
#include "detllm_test/check.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>

#include "artifacts/json_io.h"
#include "artifacts/sha256.h"
#include "check/batch_plan.h"
#include "check/run_config.h"
#include "detllm_test/error.h"
#include "detllm_test/repro_pack.h"
#include "detllm_test/version.h"
#include "explain/localize.h"

namespace detllm {

using internal::BatchPlan;
using internal::LocalizationSide;
using internal::Request;
using nlohmann::json;

namespace {

// Limits on what one check may ask for (docs/assertions.md#limits): beyond
// them a request is a typo or a runaway loop, not a test, and would allocate
// for minutes before failing.
constexpr int kMaxBatchSize = 1024;
constexpr int kMaxNewTokens = 32768;
constexpr int kMaxRuns = 1000;

// `where`: "" for batch_size, " in vary_batch", ...
void check_batch_size(int size, const char* where) {
  if (size < 1 || size > kMaxBatchSize) {
    throw Error("batch size " + std::to_string(size) + where +
                " is invalid: it must be from 1 to " + std::to_string(kMaxBatchSize));
  }
}

void validate(const std::vector<Prompt>& prompts, const RunOptions& options) {
  if (prompts.empty()) throw Error("no prompts: give at least one prompt");
  check_batch_size(options.batch_size, "");
  const GenerationConfig& d = options.decoding;
  if (d.max_new_tokens < 1 || d.max_new_tokens > kMaxNewTokens) {
    throw Error("max_new_tokens " + std::to_string(d.max_new_tokens) +
                " is invalid: it must be from 1 to " + std::to_string(kMaxNewTokens));
  }
  if (d.do_sample && !(d.temperature > 0)) throw Error("temperature must be > 0 when sampling");
  if (!(d.top_p > 0 && d.top_p <= 1)) throw Error("top_p must be in (0, 1]");
  if (d.top_k < 0) throw Error("top_k must be >= 0 (0 keeps every token)");
  if (options.determinism.tier < 0 || options.determinism.tier > kMaxTier) {
    throw Error("tier " + std::to_string(options.determinism.tier) +
                " does not exist; use 0, 1 or 2");
  }
}

// The memory a batch needs grows with its token positions: batch size times
// (longest prompt + generated tokens), for every activation and the KV cache.
// Estimated before anything is allocated; beyond the bound the check is
// refused rather than left to exhaust the machine.
constexpr int64_t kMaxTokenPositions = int64_t{1} << 22;

void check_token_positions(const std::vector<Request>& requests, int batch_size,
                           const GenerationConfig& decoding) {
  size_t longest = 0;
  for (const Request& r : requests) longest = std::max(longest, r.ids.size());
  const int64_t positions =
      static_cast<int64_t>(batch_size) * (static_cast<int64_t>(longest) + decoding.max_new_tokens);
  if (positions > kMaxTokenPositions) {
    throw Error("a batch of " + std::to_string(batch_size) + " prompts of up to " +
                std::to_string(longest) + " tokens, generating " +
                std::to_string(decoding.max_new_tokens) + ", holds " + std::to_string(positions) +
                " token positions; at most " + std::to_string(kMaxTokenPositions) +
                " are supported (use a smaller batch size, or shorter prompts)");
  }
}

std::vector<Request> tokenize(const Generator& model, const std::vector<Prompt>& prompts) {
  std::vector<Request> requests;
  for (size_t i = 0; i < prompts.size(); ++i) {
    Request r;
    r.index = static_cast<int>(i);
    r.ids = prompts[i].has_ids ? prompts[i].token_ids : model.tokenizer().encode(prompts[i].text);
    if (r.ids.empty()) {
      throw Error("prompt #" + std::to_string(i) +
                  " is empty: every prompt needs at least one token");
    }
    r.id = prompt_id(prompts[i]);
    r.ids_hash = token_ids_hash(r.ids);
    requests.push_back(std::move(r));
  }
  return requests;
}

// Reports progress after each batch, when the caller asked for it.
class ProgressReporter {
 public:
  explicit ProgressReporter(const RunOptions& options)
      : callback_(options.on_progress), start_(std::chrono::steady_clock::now()) {}
  void begin(std::string phase, int prompts) {
    progress_.phase = std::move(phase);
    progress_.prompts_done = 0;
    progress_.prompts_total = prompts;
  }
  void done(int prompts, int64_t tokens) {
    progress_.prompts_done += prompts;
    progress_.tokens_generated += tokens;
    if (!callback_) return;
    progress_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    callback_(progress_);
  }

 private:
  std::function<void(const Progress&)> callback_;
  std::chrono::steady_clock::time_point start_;
  Progress progress_;
};

// Runs the planned batches and returns one row per request, in prompt order.
Trace run_plans(Generator& model, const std::vector<Request>& requests,
                const std::vector<BatchPlan>& plans, const GenerationConfig& decoding,
                ProgressReporter* progress = nullptr) {
  Trace trace(requests.size());
  const std::string tokenizer_id = model.tokenizer().id();
  for (const BatchPlan& plan : plans) {
    const int batch_size = static_cast<int>(plan.slots.size());
    const std::vector<TokenIds> batch = internal::batch_ids(plan, requests);
    std::vector<Generation> out;
    try {
      out = model.generate(batch, decoding);
    } catch (const NonFiniteLogits& e) {
      const int r = e.row() < batch_size ? plan.slots[e.row()] : -1;
      const std::string where = " at generated token " + std::to_string(e.step()) +
                                " (batch size " + std::to_string(batch_size) + ", row " +
                                std::to_string(e.row()) + ")";
      if (r < 0) throw Error("NaN or infinite logits for a filler prompt" + where);
      throw Error("NaN or infinite logits for prompt #" + std::to_string(r) + " " +
                  internal::quote_text(model.tokenizer().decode(requests[r].ids)) + where);
    }
    if (out.size() != batch.size()) {
      throw Error("model '" + model.info().name + "' returned " + std::to_string(out.size()) +
                  " generations for a batch of " + std::to_string(batch.size()));
    }
    int real = 0;
    int64_t tokens = 0;
    for (const Generation& gen : out) tokens += static_cast<int64_t>(gen.tokens.size());
    for (int slot = 0; slot < batch_size; ++slot) {
      const int r = plan.slots[slot];
      if (r < 0) continue;
      ++real;
      Generation& gen = out[slot];
      const std::string which = " for prompt #" + std::to_string(r);
      if (static_cast<int>(gen.tokens.size()) > decoding.max_new_tokens) {
        throw Error("model '" + model.info().name + "' returned " +
                    std::to_string(gen.tokens.size()) + " tokens" + which + "; max_new_tokens is " +
                    std::to_string(decoding.max_new_tokens));
      }
      if (!gen.logprobs.empty() && gen.logprobs.size() != gen.tokens.size()) {
        throw Error("model '" + model.info().name + "' returned " +
                    std::to_string(gen.logprobs.size()) + " logprobs for " +
                    std::to_string(gen.tokens.size()) + " tokens" + which);
      }
      TraceRow& t = trace[r];
      t.prompt_id = requests[r].id;
      t.input_token_ids = requests[r].ids;
      t.input_token_ids_hash = requests[r].ids_hash;
      t.generated_token_ids = std::move(gen.tokens);
      if (decoding.capture_logprobs && !gen.logprobs.empty()) t.scores = std::move(gen.logprobs);
      t.tokenizer_id = tokenizer_id;
      t.decoding_max_new_tokens = decoding.max_new_tokens;
      t.decoding_do_sample = decoding.do_sample;
      t.decoding_temperature = decoding.temperature;
      t.decoding_top_p = decoding.top_p;
      t.decoding_top_k = decoding.top_k;
      t.prompt_index = requests[r].index;
      t.batch_size = batch_size;
      t.batch_position = slot;
      t.logit_margins = std::move(gen.logit_margins);
    }
    if (progress) progress->done(real, tokens);
  }
  return trace;
}

Trace run_in_order(Generator& model, const std::vector<Request>& requests, int batch_size,
                   const RunOptions& options, ProgressReporter* progress = nullptr) {
  return run_plans(
      model, requests,
      internal::plan_in_order(requests.size(), batch_size, options.determinism.seed.value_or(0)),
      options.decoding, progress);
}

std::string label_run(int r) { return "run " + std::to_string(r); }
std::string label_batch(int b) { return "batch size " + std::to_string(b); }

// The key under which two runs count as the same output.
std::string output_key(const Trace& trace, bool with_scores) {
  json key = json::array();
  for (const TraceRow& row : trace) {
    key.push_back(row.generated_token_ids);
    if (with_scores) key.push_back(row.scores ? json(*row.scores) : json(nullptr));
  }
  return key.dump();
}

// RunOptions::preflight: one short generation of the first prompt.
void run_preflight(Generator& model, const std::vector<Request>& requests,
                   const RunOptions& options) {
  GenerationConfig one_token = options.decoding;
  one_token.max_new_tokens = 1;
  try {
    model.generate({requests.front().ids}, one_token);
  } catch (const Error& e) {
    throw Error(std::string("preflight forward pass failed: ") + e.what());
  }
}

}  // namespace

RunResult run(Generator& model, const std::vector<Prompt>& prompts, const RunOptions& options) {
  validate(prompts, options);
  const std::vector<Request> requests = tokenize(model, prompts);
  check_token_positions(requests, options.batch_size, options.decoding);
  const ModelInfo info = model.info();
  std::optional<PackWriter> pack;
  if (!options.out_dir.empty()) pack.emplace(options.out_dir, new_run_id());

  DeterminismScope scope(options.determinism, info.device);
  gate_tier(info, scope.record());
  RunResult result;
  result.determinism = scope.record();
  const json env = capture_env(options.env);
  if (result.determinism.capability_failures.empty()) {
    if (options.preflight) run_preflight(model, requests, options);
    result.trace = run_in_order(model, requests, options.batch_size, options);
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

// vary_batch without the baseline and without repeats; throws for a size < 1.
std::vector<int> extra_batch_sizes(const CheckOptions& options) {
  std::vector<int> sizes;
  for (int b : options.vary_batch) {
    check_batch_size(b, " in vary_batch");
    if (b != options.batch_size && std::find(sizes.begin(), sizes.end(), b) == sizes.end()) {
      sizes.push_back(b);
    }
  }
  return sizes;
}

// Run 0 scored in one forward pass per prompt: each row's tokens are the
// model's argmax at every generated position, its scores the logprobs of run
// 0's tokens there.
Trace prefill_trace(Generator& model, const Trace& run0) {
  Trace trace = run0;
  for (TraceRow& row : trace) {
    if (row.generated_token_ids.empty()) continue;
    TokenIds sequence = row.input_token_ids;
    sequence.insert(sequence.end(), row.generated_token_ids.begin(), row.generated_token_ids.end());
    std::optional<SequenceScores> scored = model.score(sequence, row.input_token_ids.size());
    if (!scored) {
      throw Error("model '" + model.info().name +
                  "' cannot score a sequence, which comparing prefill with decode needs (the "
                  "built-in, GPT-2 and TorchScript models can; a callable needs a ScoreFunction)");
    }
    if (scored->argmax.size() != row.generated_token_ids.size() ||
        scored->logprobs.size() != row.generated_token_ids.size()) {
      throw Error("model '" + model.info().name + "' scored " +
                  std::to_string(scored->argmax.size()) + " positions of prompt #" +
                  std::to_string(row.prompt_index) + "; it generated " +
                  std::to_string(row.generated_token_ids.size()));
    }
    row.generated_token_ids = scored->argmax;
    row.scores = scored->logprobs;
    row.logit_margins = scored->logit_margins;
  }
  return trace;
}

// vary_threads without `baseline` and without repeats; throws for a count < 1.
std::vector<int> extra_thread_counts(const CheckOptions& options, int baseline) {
  std::vector<int> counts;
  for (int t : options.vary_threads) {
    if (t < 1) {
      throw Error("thread count " + std::to_string(t) +
                  " in vary_threads is invalid: it must be at least 1");
    }
    if (t != baseline && std::find(counts.begin(), counts.end(), t) == counts.end()) {
      counts.push_back(t);
    }
  }
  return counts;
}

// Writes each run's environment snapshot and trace into the pack. A passing
// check's runs usually have the same snapshot and the same trace: those are
// written once and linked, since creating a file costs far more than the bytes
// in it.
class RunFiles {
 public:
  explicit RunFiles(PackWriter& pack) : pack_(&pack) {}
  // Run `r` is runs[r]; runs[0] is run 0's trace.
  void add_run(int r, const json& env, const std::vector<Trace>& runs) {
    const std::string env_name = "envs/run_" + std::to_string(r) + ".json";
    const std::string trace_name = "traces/run_" + std::to_string(r) + ".jsonl";
    // Compared as written, so that no field of a row can be missed; each
    // trace is serialized once, run 0's kept for the later runs.
    std::string jsonl = to_jsonl(runs[r]);
    if (r == 0) {
      pack_->write_json("env.json", env);
      first_fingerprint_ = env["fingerprint"];
      pack_->write_text(trace_name, jsonl);
      pack_->write_same_as("trace.jsonl", trace_name);
      first_jsonl_ = std::move(jsonl);
    } else if (jsonl == first_jsonl_) {
      pack_->write_same_as(trace_name, "traces/run_0.jsonl");
    } else {
      pack_->write_text(trace_name, jsonl);
    }
    if (env["fingerprint"] == first_fingerprint_) {
      pack_->write_same_as(env_name, "env.json");
    } else {
      pack_->write_json(env_name, env);
    }
  }
  void add(const std::string& name, const Trace& trace) {
    pack_->write_trace("traces/" + name + ".jsonl", trace);
  }

 private:
  PackWriter* pack_;
  json first_fingerprint_;
  std::string first_jsonl_;
};

// The runs at the baseline batch size (an environment snapshot before each),
// one run at each extra batch size, then the needle trials.
void run_all(Generator& model, const std::vector<Request>& requests,
             const std::vector<int>& extra_sizes, const std::vector<int>& extra_threads,
             const CheckOptions& options, CheckResult& result, std::vector<json>& envs) {
  // Unless a preflight was asked for, run 0 is the first call after loading:
  // nothing warms the model up, so a cold first call that differs is caught.
  if (options.preflight) run_preflight(model, requests, options);
  ProgressReporter progress(options);
  const int prompt_count = static_cast<int>(requests.size());
  for (int r = 0; r < options.runs; ++r) {
    envs.push_back(capture_env(options.env));
    progress.begin("run " + std::to_string(r + 1) + " of " + std::to_string(options.runs),
                   prompt_count);
    result.runs.push_back(run_in_order(model, requests, options.batch_size, options, &progress));
  }
  for (int b : extra_sizes) {
    progress.begin("batch size " + std::to_string(b), prompt_count);
    result.batch_traces[b] = run_in_order(model, requests, b, options, &progress);
  }
  const int baseline_threads = at::get_num_threads();
  for (int t : extra_threads) {
    progress.begin("threads " + std::to_string(t), prompt_count);
    at::set_num_threads(t);
    result.thread_traces[t] = run_in_order(model, requests, options.batch_size, options, &progress);
  }
  at::set_num_threads(baseline_threads);
  if (options.prefill_vs_decode) result.prefill_trace = prefill_trace(model, result.runs[0]);
  for (int t = 0; t < options.needle_trials; ++t) {
    progress.begin(
        "needle trial " + std::to_string(t + 1) + " of " + std::to_string(options.needle_trials),
        prompt_count);
    result.needle_traces.push_back(
        run_plans(model, requests,
                  internal::plan_needles(requests.size(), t, options.needle_max_batch_size,
                                         options.determinism.seed.value_or(0)),
                  options.decoding, &progress));
  }
}

// Which comparison found report.first_found(), so that localisation can run
// its two sides again and report.html can show the right side's rows.
struct Comparison {
  enum Kind { kNone, kRuns, kBatchSize, kNeedle, kThreads, kPrefill } kind = kNone;
  int value = 0;  // the run, batch size, needle trial or thread count of the right side
  const Trace* right = nullptr;  // the right side's trace (the left is run 0)
};

// Compares every trace with run 0 (and the environments with run 0's) and
// sets the report's findings, category and verdict; returns which comparison
// found the first divergence.
Comparison compare_all(CheckResult& result, const std::vector<json>& envs,
                       const CheckOptions& options, int tier_effective,
                       const Tokenizer& tokenizer) {
  // The first divergence found decides, in the order report.first_found() uses.
  Comparison found;
  auto found_in = [&found](Comparison::Kind kind, int value, const Trace& right) {
    if (found.kind == Comparison::kNone) found = {kind, value, &right};
  };
  Report& report = result.report;
  const bool compare_scores = tier_effective >= 2;
  std::set<std::string> outputs;
  for (const Trace& trace : result.runs) outputs.insert(output_key(trace, compare_scores));
  report.distinct_outputs = static_cast<int>(outputs.size());
  for (int r = 1; r < options.runs && !report.first_divergence; ++r) {
    report.first_divergence =
        diff_traces(result.runs[0], result.runs[r],
                    {Category::kRunVarianceFixedBatch, compare_scores, label_run(0), label_run(r)});
    if (report.first_divergence) found_in(Comparison::kRuns, r, result.runs[r]);
  }
  if (report.first_divergence && options.runs >= 3) {
    bool warm_runs_agree = true;
    for (int r = 2; r < options.runs; ++r) {
      warm_runs_agree =
          warm_runs_agree && !diff_traces(result.runs[1], result.runs[r],
                                          {Category::kRunVarianceFixedBatch, compare_scores});
    }
    report.cold_start_differs = warm_runs_agree;
  }
  // In the order asked for: report.batch_sizes is the baseline, then the others.
  for (size_t i = 1; i < report.batch_sizes.size() && !report.batch_divergence; ++i) {
    const int b = report.batch_sizes[i];
    report.batch_divergence = diff_traces(result.runs[0], result.batch_traces.at(b),
                                          {Category::kBatchVariance, compare_scores,
                                           label_batch(options.batch_size), label_batch(b)});
    if (report.batch_divergence) found_in(Comparison::kBatchSize, b, result.batch_traces.at(b));
  }
  for (size_t t = 0; t < result.needle_traces.size() && !report.batch_divergence; ++t) {
    report.batch_divergence =
        diff_traces(result.runs[0], result.needle_traces[t],
                    {Category::kBatchVariance, compare_scores, label_batch(options.batch_size),
                     "needle trial " + std::to_string(t)});
    if (report.batch_divergence) {
      found_in(Comparison::kNeedle, static_cast<int>(t), result.needle_traces[t]);
      const TraceRow& row = result.needle_traces[t][report.batch_divergence->index];
      report.batch_divergence->right_label += " (batch size " + std::to_string(row.batch_size) +
                                              ", position " + std::to_string(row.batch_position) +
                                              ")";
    }
  }
  for (size_t i = 1; i < report.thread_counts.size() && !report.thread_divergence; ++i) {
    const int t = report.thread_counts[i];
    report.thread_divergence = diff_traces(
        result.runs[0], result.thread_traces.at(t),
        {Category::kThreadVariance, compare_scores,
         "threads " + std::to_string(report.thread_counts[0]), "threads " + std::to_string(t)});
    if (report.thread_divergence) found_in(Comparison::kThreads, t, result.thread_traces.at(t));
  }
  if (options.prefill_vs_decode) {
    report.prefill_compared = true;
    report.prefill_divergence =
        diff_traces(result.runs[0], result.prefill_trace,
                    {Category::kPrefillDecodeMismatch, compare_scores, "decode", "prefill"});
    if (report.prefill_divergence) found_in(Comparison::kPrefill, 0, result.prefill_trace);
  }
  for (size_t r = 1; r < envs.size() && report.env_mismatch_run < 0; ++r) {
    if (envs[r]["fingerprint"] != envs[0]["fingerprint"]) {
      report.env_mismatch_run = static_cast<int>(r);
      report.env_differences = env_differences(envs[0], envs[r]);
    }
  }
  if (!compare_scores && !report.first_divergence) {
    for (int r = 1; r < options.runs; ++r) {
      if (diff_traces(result.runs[0], result.runs[r], {Category::kRunVarianceFixedBatch, true})) {
        report.notes.push_back("logprobs differ between run 0 and run " + std::to_string(r) +
                               " (not asserted below tier 2)");
        break;
      }
    }
  }
  for (const DivergenceKind& kind : divergence_kinds()) {
    std::optional<Divergence>& d = report.*kind.member;
    if (d) describe_text(*d, result.runs[0], tokenizer);
  }
  Category category = Category::kPass;
  if (const std::optional<Divergence>& d = report.first_found()) {
    // Prefill vs decode fails as such, whether tokens or (tier 2) logprobs differ.
    category = &d == &report.prefill_divergence ? Category::kPrefillDecodeMismatch : d->category;
  } else if (report.env_mismatch_run >= 0) {
    category = Category::kEnvMismatch;
  }
  if (tier_effective == 0 && category != Category::kPass) {
    report.notes.push_back("observed " + to_string(category) + " (not asserted at tier 0)");
    category = Category::kPass;
  }
  report.category = category;
  report.passed = category == Category::kPass;
  return found;
}

// CheckOptions::explain: names the first ATen op that differs between the two
// sides of the first divergence, for the prompt concerned, up to its token.
void explain(Generator& model, const std::vector<Request>& requests, const CheckOptions& options,
             const Comparison& comparison, Report& report) {
  const std::optional<Divergence>& d = report.first_found();
  if (!d || d->token_index < 0 || comparison.kind == Comparison::kNone) return;
  if (const std::string why = model.info().capabilities.ops_unobservable; !why.empty()) {
    report.notes.push_back("the first differing op is not named: " + why);
    return;
  }
  if (comparison.kind == Comparison::kPrefill) {
    report.notes.push_back(
        "the first differing op is not named for prefill vs decode: the two sides run "
        "different code by design");
    return;
  }
  const size_t n = requests.size();
  const uint64_t seed = options.determinism.seed.value_or(0);
  const int r = d->index;
  const int threads = at::get_num_threads();
  const LocalizationSide left =
      internal::side_of(internal::plan_in_order(n, options.batch_size, seed), r, requests, threads);
  LocalizationSide right = left;
  if (comparison.kind == Comparison::kBatchSize) {
    right =
        internal::side_of(internal::plan_in_order(n, comparison.value, seed), r, requests, threads);
  } else if (comparison.kind == Comparison::kNeedle) {
    right = internal::side_of(
        internal::plan_needles(n, comparison.value, options.needle_max_batch_size, seed), r,
        requests, threads);
  } else if (comparison.kind == Comparison::kThreads) {
    right.threads = comparison.value;
  }
  GenerationConfig config = options.decoding;
  config.max_new_tokens = d->token_index + 1;
  internal::Localization found;
  try {
    found = internal::localize(model, left, right, config);
  } catch (const std::exception& e) {
    found.why = std::string("localisation failed: ") + e.what();
  }
  found.add_to(report);
}

// The check's repro pack: each run's environment and trace, the other batch
// sizes' and needle trials' traces, configuration, the report, and the pack
// moved into place.
void write_check_pack(PackWriter& pack, Generator& model, const std::vector<Prompt>& prompts,
                      const std::vector<Request>& requests, const CheckOptions& options,
                      const std::vector<int>& extra_sizes, const std::vector<json>& envs,
                      const Comparison& comparison, CheckResult& result) {
  Report& report = result.report;
  report.pack_dir = pack.final_path();
  RunFiles files(pack);
  for (size_t r = 0; r < result.runs.size(); ++r) {
    files.add_run(static_cast<int>(r), envs[r], result.runs);
  }
  for (const auto& [b, trace] : result.batch_traces) files.add("batch_" + std::to_string(b), trace);
  for (const auto& [t, trace] : result.thread_traces) {
    files.add("threads_" + std::to_string(t), trace);
  }
  if (options.prefill_vs_decode) files.add("prefill", result.prefill_trace);
  for (size_t t = 0; t < result.needle_traces.size(); ++t) {
    files.add("needle_" + std::to_string(t), result.needle_traces[t]);
  }
  if (result.runs.empty()) {  // no runs (an unsupported request): what there is
    pack.write_json("env.json", envs[0]);
    pack.write_trace("trace.jsonl", {});
  }
  json config = internal::run_config_json(model, options, result.determinism, extra_sizes,
                                          options.runs, prompts, envs[0]);
  config["replay"] = internal::replay_json(options, extra_sizes, requests);
  pack.write_json("run_config.json", config);
  pack.write_json("determinism_applied.json", determinism_applied_json(result.determinism));
  const json report_json = to_json(report);
  pack.write_json("report.json", report_json);
  pack.write_text("report.txt", render_text(report) + "repro pack: " + report.pack_dir + "\n");
  const auto& divergence = report.first_found();
  if (divergence) pack.write_json("diffs/first_divergence.json", to_json(*divergence));
  if (!report.passed) {
    const Trace* right = comparison.right;
    const bool rows = divergence && right && !result.runs.empty() && divergence->index >= 0 &&
                      divergence->index < static_cast<int>(result.runs[0].size()) &&
                      divergence->index < static_cast<int>(right->size());
    pack.write_text("report.html",
                    render_html(report, rows ? &result.runs[0][divergence->index] : nullptr,
                                rows ? &(*right)[divergence->index] : nullptr, &model.tokenizer()));
  }
  result.pack_dir = pack.commit();
}

}  // namespace

CheckResult check(Generator& model, const std::vector<Prompt>& prompts,
                  const CheckOptions& options) {
  validate(prompts, options);
  if (options.runs < 1 || options.runs > kMaxRuns) {
    throw Error("runs " + std::to_string(options.runs) + " is invalid: it must be from 1 to " +
                std::to_string(kMaxRuns));
  }
  if (options.needle_trials < 0 || options.needle_trials > kMaxRuns) {
    throw Error("needle_trials must be from 0 to " + std::to_string(kMaxRuns));
  }
  if (options.needle_trials > 0)
    check_batch_size(options.needle_max_batch_size, " in needle_max_batch_size");
  if (options.prefill_vs_decode && options.decoding.do_sample) {
    throw Error("prefill vs decode compares greedy decoding: it cannot be combined with sampling");
  }
  const std::vector<int> extra_sizes = extra_batch_sizes(options);
  const std::vector<Request> requests = tokenize(model, prompts);
  check_token_positions(requests, options.batch_size, options.decoding);
  for (const int b : extra_sizes) check_token_positions(requests, b, options.decoding);
  if (options.needle_trials > 0) {
    check_token_positions(requests, options.needle_max_batch_size, options.decoding);
  }
  const ModelInfo info = model.info();
  std::optional<PackWriter> pack;
  if (!options.out_dir.empty()) pack.emplace(options.out_dir, new_run_id());

  DeterminismScope scope(options.determinism, info.device);
  DeterminismRecord& record = scope.record();
  gate_tier(info, record);

  CheckResult result;
  Report& report = result.report;
  report.tier_requested = record.tier_requested;
  report.tier_effective = record.tier_effective;
  report.mode = to_string(record.mode);
  report.model = info.name;
  report.runs = options.runs;
  report.baseline_batch_size = options.batch_size;
  report.batch_sizes.push_back(options.batch_size);
  report.batch_sizes.insert(report.batch_sizes.end(), extra_sizes.begin(), extra_sizes.end());
  report.prompts = static_cast<int>(prompts.size());
  report.needle_trials = options.needle_trials;
  const int threads_in_force = at::get_num_threads();
  const std::vector<int> extra_threads = extra_thread_counts(options, threads_in_force);
  if (!extra_threads.empty()) {
    report.thread_counts.push_back(threads_in_force);
    report.thread_counts.insert(report.thread_counts.end(), extra_threads.begin(),
                                extra_threads.end());
  }
  report.controls = record.summary();
  report.notes = record.warnings;

  Comparison comparison;
  std::vector<json> envs;
  if (!record.capability_failures.empty()) {
    report.passed = false;
    report.category = Category::kUnsupportedRequest;
    report.capability_failures = record.capability_failures;
    envs.push_back(capture_env(options.env));
  } else {
    run_all(model, requests, extra_sizes, extra_threads, options, result, envs);
    comparison = compare_all(result, envs, options, record.tier_effective, model.tokenizer());
    if (!report.passed && options.explain) explain(model, requests, options, comparison, report);
  }
  result.determinism = record;
  // Without keep_passing_pack a passing check leaves nothing: the temporary
  // directory, still empty, goes with the PackWriter.
  if (pack && (options.keep_passing_pack || !result.passed())) {
    write_check_pack(*pack, model, prompts, requests, options, extra_sizes, envs, comparison,
                     result);
  }
  return result;
}

}  // namespace detllm
