// Internal: turning prompts into requests, and a check's phases into traces.
#ifndef DETLLM_SRC_CHECK_RUNNER_H_
#define DETLLM_SRC_CHECK_RUNNER_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "check/batch_plan.h"
#include "check/check_run.h"
#include "check/phases.h"
#include "detllm_test/check.h"

namespace detllm::internal {

// The prompts as token ids (text through the model's tokenizer); throws for a
// prompt with no tokens.
std::vector<Request> tokenize(const Generator& model, const std::vector<Prompt>& prompts);

// RunOptions::preflight: one short generation of the first prompt, so that a
// model that cannot run at all fails before the first timed run.
void run_preflight(Generator& model, const std::vector<Request>& requests,
                   const RunOptions& options);

// `rows` scored in one forward pass per prompt: each row's tokens become the
// model's top-1 at every generated position, its scores the logprobs of the
// row's own tokens there, its margins the model's. Throws naming
// `needed_for` when the model cannot score a sequence. With
// `teacher_forcing`, however the model can (Generator::teacher_force: a
// server one request per position), else in one pass (Generator::score).
Trace rescore(Generator& model, const Trace& rows, const std::string& needed_for,
              bool teacher_forcing = false);
// The same, or nullopt for a model that cannot score at all (a row of the
// wrong shape still throws).
std::optional<Trace> rescore_if_able(Generator& model, const Trace& rows,
                                     bool teacher_forcing = false);

// Runs the planned batches and returns one row per request, in prompt order.
// Throws naming the prompt for NaN logits, and the model for a generation of
// the wrong shape.
Trace run_plans(Generator& model, const std::vector<Request>& requests,
                const std::vector<BatchPlan>& plans, const GenerationConfig& decoding);

// Runs every phase into its trace (comparisons.h), in order, with an
// environment snapshot before each run (into run.envs) and progress reported
// after each batch; the thread count in force is restored afterwards. A
// golden's phase runs nothing: its rows were read from the file.
void run_phases(CheckRun& run);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_RUNNER_H_
