// detllm::artifacts — the outcome of a check or a diff: report.json and its
// readable report.txt, rendered in one place.
#ifndef DETLLM_TEST_REPORT_H_
#define DETLLM_TEST_REPORT_H_

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "detllm_test/diff.h"

namespace detllm {

// Everything a check concluded.
// The first ATen op whose output differed when the two diverging sides were
// run again for the prompt concerned (localisation, CheckOptions::explain).
struct OpDivergence {
  std::string op;       // "aten::addmm"
  int call_index = -1;  // among the ops of one side's re-run, from 0
  std::string scope;    // the module or layer, e.g. "h.0.mlp.c_fc"; "" if unknown
  std::vector<std::string> left_inputs, right_inputs;  // input shapes, e.g. "[4, 64]"
  std::string left_output, right_output;               // output shapes
  double max_abs_diff = 0;
  int64_t max_ulps = 0;  // in float32 units in the last place
  int ops_equal_before = 0;
  std::string detail;  // when the two op sequences themselves differ
};

// How far apart the two sides' hidden states are after each layer in the
// forward pass that computed one token: where a difference appears and how it
// grows.
struct LayerDrift {
  struct Layer {
    std::string name;  // "wte+wpe", "h.0" ... "h.<L-1>", "lm_head" (the logits)
    double max_abs_diff = 0;
    int64_t max_ulps = 0;  // in float32 units in the last place
  };
  int token_index = -1;  // the token that forward pass computed
  std::vector<Layer> layers;
};

// For a mixture-of-experts model: the first routed token whose chosen experts
// differ between the two sides' localisation re-runs, in the order the model
// routes them (forward pass, layer, position). A near-tie in the router turns
// an ULP of drift into a different expert, and the outputs part from there.
struct ExpertRoutingDivergence {
  int layer = -1;
  int token_index = -1;  // the generated token whose forward pass routed it (0: the prefill)
  int position = -1;     // the routed token's position in the sequence, from 0
  std::vector<int64_t> left_experts, right_experts;  // ascending
  // The router margin on each side: the k-th largest router logit less the (k+1)-th.
  double left_margin = 0, right_margin = 0;
};

// A golden compared with a tolerance (tolerance.h): the candidate scored the
// golden's own tokens (teacher forcing), every generated position measured.
struct GoldenDrift {
  struct Position {
    int prompt = -1;  // the prompt's index
    int token = -1;   // its generated token's index
    int64_t golden_token = -1, candidate_top1 = -1;
    // Of the golden token; the candidate's is NaN where a server did not say
    // (its top-1 was another token), and so is the drift.
    double golden_logprob = 0, candidate_logprob = 0;
    double drift = 0;  // |candidate - golden| logprob
    // top-1 less top-2 logit; NaN where a side did not record one.
    double golden_margin = 0, candidate_margin = 0;
    bool flip() const { return candidate_top1 != golden_token; }
  };
  std::string tolerance;  // Tolerance::to_string() of the one applied
  double logprob_tolerance = 0;
  double margin_tolerance = 0;
  std::string calibration;             // how `auto` was measured; "" otherwise
  int positions = 0;                   // generated positions compared
  bool exact = true;                   // every token and logprob bit for bit
  std::optional<Position> largest;     // the largest drift let through
  std::vector<Position> benign_flips;  // flips at a golden margin within tolerance
  std::optional<Position> failure;     // the first position beyond tolerance
  // The failure's kind: a flip where the golden's margin was above the
  // tolerance ("confident flip", a regression), or the logprob beyond it ("drift").
  std::string failure_kind;
  // Every compared position as (golden margin, drift, passed; -1 where
  // unknown), for
  // report.html's plot: at most kMaxPlotted, spread over the positions.
  struct Point {
    double margin = 0, drift = 0;
    bool passed = true;
  };
  std::vector<Point> points;
  static constexpr size_t kMaxPlotted = 2000;
};

struct Report {
  bool passed = true;
  Category category = Category::kPass;
  int tier_requested = 1;
  int tier_effective = 1;
  std::string mode;
  std::string model;
  int runs = 0;
  int baseline_batch_size = 1;
  std::vector<int> batch_sizes;  // every batch size run, baseline first
  int prompts = 0;
  int needle_trials = 0;
  // How often, not only whether, needle trials diverged: per prompt, the
  // distinct completions (generated tokens) among run 0 and the trials, as
  // SGLang counts "unique samples"; and at which generated token trials first
  // left run 0, with how many (prompt, trial) pairs did there.
  std::vector<int> needle_distinct_completions;
  struct NeedleDivergences {
    int token_index = 0;
    int trials = 0;
  };
  std::vector<NeedleDivergences> needle_divergence_positions;
  // Across runs: how many different outputs the runs produced (1 = repeatable).
  int distinct_outputs = 1;
  // A served model's prompt cache, as the server said: per run, the prompt
  // tokens it served from its cache (summed over prompts; -1 for a run it
  // said nothing of). Empty when it never said.
  std::vector<int> prompt_cache_tokens;
  // Run 0 (the first call after loading) differs while the later runs agree.
  bool cold_start_differs = false;
  std::optional<Divergence> first_divergence;  // between runs
  std::optional<Divergence> batch_divergence;  // between batch sizes
  // Across intra-op CPU thread counts (vary_threads): every count run, the
  // baseline first, and the first divergence from the baseline's run 0.
  std::vector<int> thread_counts;
  std::optional<Divergence> thread_divergence;
  // prefill_vs_decode: run 0's decoding against one forward pass over each
  // prompt and its generated tokens ("decode" left, "prefill" right).
  bool prefill_compared = false;
  std::optional<Divergence> prefill_divergence;
  // Localisation of first_found(): the first op that differed, or why none was
  // named (in notes).
  std::optional<OpDivergence> first_divergent_op;
  // With it, for the built-in and GPT-2 models: the hidden state's drift
  // after each layer at the divergent token (or at the first token where the
  // localisation re-runs diverged, if earlier).
  std::optional<LayerDrift> layer_drift;
  // With them, for a mixture-of-experts model whose routing differed.
  std::optional<ExpertRoutingDivergence> expert_routing;
  std::vector<std::string> env_differences;  // ENV_MISMATCH: what changed
  int env_mismatch_run = -1;
  // GOLDEN_MISMATCH: the golden file compared with; its divergence is
  // first_divergence, env_differences the fields that differ from the
  // golden's recording and likely_causes those that change numerics, named
  // with both values (env_likely_causes).
  std::string golden;
  // A golden compared with a tolerance: the drift, the benign flips, the failure.
  std::optional<GoldenDrift> golden_drift;
  std::vector<std::string> likely_causes;
  std::vector<std::string> capability_failures;
  // Phases that ran but could not exercise what they vary, one sentence each
  // ("batch size 32 was sent at most 1 request at a time (max_concurrency=1):
  // the server never saw it as a batch"): best-effort mode says so here and
  // the headline makes no claim for them; strict mode fails instead.
  std::vector<std::string> not_exercised;
  // A served model's own account of each batch phase's concurrency, where it
  // gives one ("batch size 8: 6.4 busy slots per decode step").
  std::vector<std::string> server_concurrency;
  std::vector<std::string> notes;  // observations that did not fail the check
  std::string controls;            // DeterminismRecord::summary()
  std::string pack_dir;            // where the repro pack is, if written

  // One line: "PASS: ..." or "FAIL: CATEGORY — ...".
  std::string headline() const;
  // The first divergence found, in the order they are looked for: between
  // runs, between batch sizes, between thread counts, decode vs prefill.
  const std::optional<Divergence>& first_found() const;
};

// The divergences a Report holds, each declared once: its member, its key in
// report.json's details, the category it fails as, and what it compared. In
// this order first_found() takes them and the findings print them.
struct DivergenceKind {
  std::optional<Divergence> Report::*member;
  const char* key;      // "batch_divergence"
  Category category;    // kBatchVariance
  const char* between;  // "between batch sizes"
};
const std::vector<DivergenceKind>& divergence_kinds();

// The report artifact (schema 1.0).
nlohmann::json to_json(const Report& report);

// A report.json read back: this library's, or any schema-1.0 one (detLLM's
// Python `diff` writes only status, category and details.first_divergence).
// Fields it lacks keep their defaults. Throws detllm::Error for a report that
// is not a JSON object or names an unknown category.
Report report_from_json(const nlohmann::json& json);

// "first differing op: aten::addmm #37 in h.0.mlp.c_fc — [4, 64]x[64, 256] vs
// [1, 64]x[64, 256], max |Δ| 2.4e-07 (3 ULP); the 36 ops before it agree".
std::string render_op_divergence(const OpDivergence& op);

// "layer drift at token 3 (max |Δ| after each layer): wte+wpe 0, h.0
// 1.19e-07, h.1 2.38e-07, lm_head 9.54e-07".
std::string render_layer_drift(const LayerDrift& drift);

// "expert routing differed at layer 1, token 0: experts {2, 5} vs {2, 7},
// router margin 3.1e-07 (position 4; the other side's margin 2.9e-07)".
std::string render_expert_routing(const ExpertRoutingDivergence& routing);

// report.html's content: self-contained (inline CSS and SVG; no script, no
// network). `left`/`right`: the divergent prompt's rows on the two sides, for
// the token streams and plots (nullptr: none); `tokenizer` decodes the tokens
// (nullptr: ids are shown).
std::string render_html(const Report& report, const TraceRow* left, const TraceRow* right,
                        const Tokenizer* tokenizer);

// The readable report (report.txt's content, without the pack line): status,
// headline, model, tier, runs, then render_findings().
std::string render_text(const Report& report);

// What a failing report found, one item per line, each indented by `indent`:
// cold start, the divergences, distinct outputs, environment changes,
// unsupported requirements, notes and the controls in force. The body of both
// report.txt and an assertion's failure message.
std::string render_findings(const Report& report, int indent);

// The lines that show one divergence, indented by `indent` spaces:
//   prompt #1 "Choose one: A or B." at generated token 4:
//     run 0: 317 " the"  logprob -0.521370  margin 0.013 (near-tie)
//     run 3: 257 " a"    logprob -0.521411  margin 0.013 (near-tie)
std::string render_divergence_text(const Divergence& divergence, int indent = 2);

}  // namespace detllm

#endif  // DETLLM_TEST_REPORT_H_
