// Running a check: each phase's batches through the model into traces, rows
// validated against what was asked for, progress reported as batches finish.
#include "check/runner.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <functional>

#include "artifacts/json_io.h"
#include "check/comparisons.h"
#include "detllm_test/env_snapshot.h"
#include "detllm_test/error.h"
#include "explain/localize.h"

namespace detllm::internal {
namespace {

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

// model.generate() on one batch, its NaN report turned into an error naming
// the prompt (or the filler) and its count of generations checked.
std::vector<Generation> generate_batch(Generator& model, const std::vector<Request>& requests,
                                       const BatchPlan& plan, const GenerationConfig& decoding) {
  const int batch_size = static_cast<int>(plan.slots.size());
  const std::vector<TokenIds> batch = batch_ids(plan, requests);
  std::vector<Generation> out;
  try {
    out = model.generate(batch, decoding);
  } catch (const NonFiniteLogits& e) {
    const int r = e.row() < batch_size ? plan.slots[e.row()] : -1;
    const std::string where = " at generated token " + std::to_string(e.step()) + " (batch size " +
                              std::to_string(batch_size) + ", row " + std::to_string(e.row()) + ")";
    if (r < 0) throw Error("NaN or infinite logits for a filler prompt" + where);
    throw Error("NaN or infinite logits for prompt #" + std::to_string(r) + " " +
                quote_text(model.tokenizer().decode(requests[r].ids)) + where);
  }
  if (out.size() != batch.size()) {
    throw Error("model '" + model.info().name + "' returned " + std::to_string(out.size()) +
                " generations for a batch of " + std::to_string(batch.size()));
  }
  return out;
}

// A trace row from a generation, after checking that the model kept to
// max_new_tokens and returned one logprob per token (a model that breaks
// either would otherwise be compared on data it never promised).
TraceRow row_of(const Generator& model, const std::string& tokenizer_id, const Request& request,
                Generation gen, const GenerationConfig& decoding, int batch_size, int slot) {
  const std::string which = " for prompt #" + std::to_string(request.index);
  if (static_cast<int>(gen.tokens.size()) > decoding.max_new_tokens) {
    throw Error("model '" + model.info().name + "' returned " + std::to_string(gen.tokens.size()) +
                " tokens" + which + "; max_new_tokens is " +
                std::to_string(decoding.max_new_tokens));
  }
  if (!gen.logprobs.empty() && gen.logprobs.size() != gen.tokens.size()) {
    throw Error("model '" + model.info().name + "' returned " +
                std::to_string(gen.logprobs.size()) + " logprobs for " +
                std::to_string(gen.tokens.size()) + " tokens" + which);
  }
  TraceRow t;
  t.prompt_id = request.id;
  t.input_token_ids = request.ids;
  t.input_token_ids_hash = request.ids_hash;
  t.generated_token_ids = std::move(gen.tokens);
  if (decoding.capture_logprobs && !gen.logprobs.empty()) t.scores = std::move(gen.logprobs);
  t.tokenizer_id = tokenizer_id;
  t.decoding_max_new_tokens = decoding.max_new_tokens;
  t.decoding_do_sample = decoding.do_sample;
  t.decoding_temperature = decoding.temperature;
  t.decoding_top_p = decoding.top_p;
  t.decoding_top_k = decoding.top_k;
  t.prompt_index = request.index;
  t.batch_size = batch_size;
  t.batch_position = slot;
  t.logit_margins = std::move(gen.logit_margins);
  t.cached_prompt_tokens = gen.cached_prompt_tokens;
  t.server_busy_slots = gen.server_busy_slots;
  t.server_restarted = gen.server_restarted;
  return t;
}

Trace run_plans(Generator& model, const std::vector<Request>& requests,
                const std::vector<BatchPlan>& plans, const GenerationConfig& decoding,
                ProgressReporter* progress) {
  Trace trace(requests.size());
  const std::string tokenizer_id = model.tokenizer().id();
  for (const BatchPlan& plan : plans) {
    std::vector<Generation> out = generate_batch(model, requests, plan, decoding);
    const int batch_size = static_cast<int>(plan.slots.size());
    int real = 0;
    int64_t tokens = 0;
    for (const Generation& gen : out) tokens += static_cast<int64_t>(gen.tokens.size());
    for (int slot = 0; slot < batch_size; ++slot) {
      const int r = plan.slots[slot];
      if (r < 0) continue;  // a filler: run for its effect on the batch, not recorded
      ++real;
      trace[r] = row_of(model, tokenizer_id, requests[r], std::move(out[slot]), decoding,
                        batch_size, slot);
    }
    if (progress) progress->done(real, tokens);
  }
  return trace;
}

}  // namespace

std::optional<Trace> rescore_if_able(Generator& model, const Trace& rows, bool teacher_forcing) {
  Trace trace = rows;
  for (TraceRow& row : trace) {
    if (row.generated_token_ids.empty()) continue;
    TokenIds sequence = row.input_token_ids;
    sequence.insert(sequence.end(), row.generated_token_ids.begin(), row.generated_token_ids.end());
    std::optional<SequenceScores> scored =
        teacher_forcing ? model.teacher_force(sequence, row.input_token_ids.size())
                        : model.score(sequence, row.input_token_ids.size());
    if (!scored) return std::nullopt;
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

Trace rescore(Generator& model, const Trace& rows, const std::string& needed_for,
              bool teacher_forcing) {
  std::optional<Trace> trace = rescore_if_able(model, rows, teacher_forcing);
  if (!trace) {
    throw Error("model '" + model.info().name + "' cannot score a sequence, which " + needed_for +
                " needs (the built-in, GPT-2 and TorchScript models can; a server can over "
                "/v1/completions, and over chat where it says which ids its chat template makes: "
                "llama.cpp, vLLM; a callable needs a ScoreFunction)");
  }
  return std::move(*trace);
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

Trace run_plans(Generator& model, const std::vector<Request>& requests,
                const std::vector<BatchPlan>& plans, const GenerationConfig& decoding) {
  return run_plans(model, requests, plans, decoding, nullptr);
}

void run_phases(CheckRun& run) {
  Generator& model = run.model;
  const CheckOptions& options = run.options;
  // Unless a preflight was asked for, run 0 is the first call after loading:
  // nothing warms the model up, so a cold first call that differs is caught.
  if (options.preflight) run_preflight(model, run.requests, options);
  // Repeated runs start cold, so that a warm run's prompt cache is caught.
  if (run.verdict && !run.golden) {
    if (const std::string reset = model.reset_caches(); !reset.empty()) {
      run.result.report.notes.push_back("run 0 started with the model's caches emptied (" + reset +
                                        "); the runs after it could reuse what it cached");
    }
  }
  run.result.runs.resize(values_of(run.phases, PhaseKind::kRun).size());
  run.result.needle_traces.resize(values_of(run.phases, PhaseKind::kNeedle).size());
  ProgressReporter progress(options);
  const int threads_in_force = at::get_num_threads();
  const ModelInfo info = model.info();
  for (const Phase& phase : run.phases) {
    if (phase.kind == PhaseKind::kGolden) continue;  // read, not run
    const int threads = phase.threads > 0 ? phase.threads : threads_in_force;
    if (at::get_num_threads() != threads) at::set_num_threads(threads);
    if (phase.kind == PhaseKind::kRun) run.envs.push_back(capture_env(info, options.env));
    if (phase.teacher_forced) {
      trace_of(run, phase) =
          rescore(model, run.golden->file.rows, "a golden compared with a tolerance", true);
      continue;
    }
    if (phase.kind == PhaseKind::kPrefill) {
      trace_of(run, phase) = rescore(model, run.result.runs.at(0), "comparing prefill with decode");
      continue;
    }
    progress.begin(phase.progress, static_cast<int>(run.requests.size()));
    trace_of(run, phase) = run_plans(model, run.requests, phase.plans, options.decoding,
                                     phase.progress.empty() ? nullptr : &progress);
  }
  if (at::get_num_threads() != threads_in_force) at::set_num_threads(threads_in_force);
}

}  // namespace detllm::internal
