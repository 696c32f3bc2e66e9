// detllm::artifacts — comparing two traces: where they first diverge, and
// in which failure category (category.h).
#ifndef DETLLM_TEST_DIFF_H_
#define DETLLM_TEST_DIFF_H_

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "detllm_test/category.h"
#include "detllm_test/trace.h"

namespace detllm {

// Logit margins below this mark a near-tie: float noise that small can flip the
// argmax, so the divergence is numerical rather than a logic bug.
inline constexpr double kNearTieMargin = 1e-2;

// Where two traces first differ, in diff order: row count and prompt ids, input
// ids and tokenizer, decoding settings, generated tokens, then logprobs.
struct Divergence {
  Category category = Category::kPass;
  std::string field;        // the trace field that differs
  std::string left_label;   // e.g. "run 0", "batch size 1"
  std::string right_label;  // e.g. "run 3", "batch size 8"
  // The two sides' traces in the repro pack ("trace.jsonl",
  // "traces/batch_8.jsonl"); empty where no pack holds them.
  std::string left_trace, right_trace;
  int index = -1;  // row
  int prompt_index = -1;
  std::string prompt_id;
  int token_index = -1;  // generated token position (-1: not a token diff)
  int64_t left_token = -1;
  int64_t right_token = -1;
  std::optional<double> left_logprob, right_logprob;
  std::optional<double> left_margin, right_margin;
  bool near_tie = false;
  std::string detail;  // one sentence for differences that are not tokens

  // Text, filled by describe_text() when a tokenizer is known.
  std::string prompt_text;
  std::string left_text, right_text;  // the two tokens
  std::string context_text;           // generated text just before them
};

// What is being compared, which decides the category of a token difference and
// whether logprobs count.
struct DiffOptions {
  Category token_category = Category::kRunVarianceFixedBatch;
  bool compare_scores = false;  // tier 2
  std::string left_label = "left";
  std::string right_label = "right";
  // With compare_scores: logprobs within this many float32 ULPs count as
  // equal; 0 asks for bitwise equality.
  int64_t score_ulps = 0;
};

// Distance between two logprobs in float32 units in the last place (they are
// float32 values carried as doubles); 0 for equal floats.
int64_t float32_ulps(double a, double b);

// The first divergence between `left` and `right`, or nullopt if they agree.
std::optional<Divergence> diff_traces(const Trace& left, const Trace& right,
                                      const DiffOptions& options = {});

// What diff_trace_files found.
struct DiffResult {
  std::optional<Divergence> divergence;  // nullopt: the traces agree
  std::optional<TraceRow> left_row;      // the left row it is in, for describe_text
  size_t rows = 0;                       // row pairs compared
};

// diff_traces on two JSON Lines files, streamed: rows are compared as they are
// read, two at a time, so memory stays flat whatever the traces' size. Throws
// detllm::Error (naming file and line) for a trace that is not well formed.
DiffResult diff_trace_files(const std::string& left, const std::string& right,
                            const DiffOptions& options = {});

// Fills the text fields of `divergence` by decoding with `tokenizer`, from the
// left row it names (`left[divergence.index]`, or that row itself).
void describe_text(Divergence& divergence, const Trace& left, const Tokenizer& tokenizer);
void describe_text(Divergence& divergence, const TraceRow& left_row, const Tokenizer& tokenizer);

// The first_divergence artifact: the divergence object itself.
nlohmann::json to_json(const Divergence& divergence);
Divergence divergence_from_json(const nlohmann::json& json);

}  // namespace detllm

#endif  // DETLLM_TEST_DIFF_H_
