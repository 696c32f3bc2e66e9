#include "detllm_test/diff.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "detllm_test/error.h"

namespace detllm {

using nlohmann::json;

namespace {

constexpr std::pair<Category, const char*> kCategoryNames[] = {
    {Category::kNone, "NONE"},
    {Category::kGenContextMismatch, "GEN_CONTEXT_MISMATCH"},
    {Category::kTokenizationMismatch, "TOKENIZATION_MISMATCH"},
    {Category::kRunVarianceFixedBatch, "RUN_VARIANCE_FIXED_BATCH"},
    {Category::kBatchVariance, "BATCH_VARIANCE"},
    {Category::kScoreVariance, "SCORE_VARIANCE"},
    {Category::kEnvMismatch, "ENV_MISMATCH"},
    {Category::kUnsupportedRequest, "UNSUPPORTED_REQUEST"},
};

bool bitwise_equal(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

Divergence make_divergence(Category category, const std::string& field, int index,
                           const Trace& left, const DiffOptions& options) {
  Divergence d;
  d.category = category;
  d.field = field;
  d.left_label = options.left_label;
  d.right_label = options.right_label;
  d.index = index;
  if (index >= 0 && index < static_cast<int>(left.size())) {
    d.prompt_index = left[index].prompt_index;
    d.prompt_id = left[index].prompt_id;
  }
  return d;
}

std::optional<double> value_at(const std::vector<double>& values, int i) {
  if (i >= 0 && i < static_cast<int>(values.size())) return values[i];
  return std::nullopt;
}

// Fills the token, logprob and margin fields at `token_index` of row `index`.
void fill_step(Divergence& d, const TraceRow& l, const TraceRow& r, int token_index) {
  d.token_index = token_index;
  auto token_at = [&](const TokenIds& ids) {
    return token_index < static_cast<int>(ids.size()) ? ids[token_index] : int64_t{-1};
  };
  d.left_token = token_at(l.generated_token_ids);
  d.right_token = token_at(r.generated_token_ids);
  if (l.scores) d.left_logprob = value_at(*l.scores, token_index);
  if (r.scores) d.right_logprob = value_at(*r.scores, token_index);
  d.left_margin = value_at(l.logit_margins, token_index);
  d.right_margin = value_at(r.logit_margins, token_index);
  d.near_tie = (d.left_margin && *d.left_margin < kNearTieMargin) ||
               (d.right_margin && *d.right_margin < kNearTieMargin);
}

int first_token_difference(const TokenIds& a, const TokenIds& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<int>(i);
  }
  return a.size() == b.size() ? -1 : static_cast<int>(n);
}

bool same_decoding(const TraceRow& l, const TraceRow& r) {
  return l.decoding_max_new_tokens == r.decoding_max_new_tokens &&
         l.decoding_do_sample == r.decoding_do_sample &&
         l.decoding_temperature == r.decoding_temperature && l.decoding_top_p == r.decoding_top_p &&
         l.decoding_top_k == r.decoding_top_k;
}

}  // namespace

std::string to_string(Category category) {
  for (const auto& [value, name] : kCategoryNames) {
    if (value == category) return name;
  }
  return "UNKNOWN";
}

std::ostream& operator<<(std::ostream& os, Category category) { return os << to_string(category); }

Category category_from_string(const std::string& name) {
  for (const auto& [value, known] : kCategoryNames) {
    if (name == known) return value;
  }
  throw Error("unknown failure category '" + name + "'");
}

std::optional<Divergence> diff_traces(const Trace& left, const Trace& right,
                                      const DiffOptions& options) {
  if (left.size() != right.size()) {
    Divergence d = make_divergence(Category::kGenContextMismatch, "rows", -1, left, options);
    d.detail = options.left_label + " has " + std::to_string(left.size()) + " rows, " +
               options.right_label + " has " + std::to_string(right.size());
    return d;
  }
  const int rows = static_cast<int>(left.size());
  // Each stage looks at every row before the next stage, so the category names
  // the most fundamental difference, not merely the first row's.
  for (int i = 0; i < rows; ++i) {
    if (left[i].prompt_id != right[i].prompt_id) {
      Divergence d = make_divergence(Category::kGenContextMismatch, "prompt_id", i, left, options);
      d.detail = "row " + std::to_string(i) + " is a different prompt (" +
                 left[i].prompt_id.substr(0, 12) + "… vs " + right[i].prompt_id.substr(0, 12) +
                 "…)";
      return d;
    }
  }
  for (int i = 0; i < rows; ++i) {
    const bool ids_differ = left[i].input_token_ids != right[i].input_token_ids ||
                            left[i].input_token_ids_hash != right[i].input_token_ids_hash;
    if (ids_differ || left[i].tokenizer_id != right[i].tokenizer_id) {
      Divergence d =
          make_divergence(Category::kTokenizationMismatch,
                          ids_differ ? "input_token_ids" : "tokenizer_id", i, left, options);
      d.detail = ids_differ ? "the prompt was tokenized differently"
                            : "tokenizer '" + left[i].tokenizer_id + "' vs '" +
                                  right[i].tokenizer_id + "'";
      return d;
    }
  }
  for (int i = 0; i < rows; ++i) {
    if (!same_decoding(left[i], right[i])) {
      Divergence d = make_divergence(Category::kGenContextMismatch, "decoding", i, left, options);
      d.detail =
          "decoding settings differ (max_new_tokens, do_sample, temperature, top_p or top_k)";
      return d;
    }
  }
  for (int i = 0; i < rows; ++i) {
    int t = first_token_difference(left[i].generated_token_ids, right[i].generated_token_ids);
    if (t >= 0) {
      Divergence d =
          make_divergence(options.token_category, "generated_token_ids", i, left, options);
      fill_step(d, left[i], right[i], t);
      return d;
    }
  }
  if (!options.compare_scores) return std::nullopt;
  for (int i = 0; i < rows; ++i) {
    const auto& ls = left[i].scores;
    const auto& rs = right[i].scores;
    if (!ls || !rs) {
      if (!ls && !rs) continue;
      Divergence d = make_divergence(Category::kScoreVariance, "scores", i, left, options);
      d.detail = (ls ? options.right_label : options.left_label) + " has no logprobs";
      return d;
    }
    for (size_t t = 0; t < std::min(ls->size(), rs->size()); ++t) {
      if (!bitwise_equal((*ls)[t], (*rs)[t])) {
        Divergence d = make_divergence(Category::kScoreVariance, "scores", i, left, options);
        fill_step(d, left[i], right[i], static_cast<int>(t));
        return d;
      }
    }
  }
  return std::nullopt;
}

void describe_text(Divergence& d, const Trace& left, const Tokenizer& tokenizer) {
  if (d.index < 0 || d.index >= static_cast<int>(left.size())) return;
  const TraceRow& row = left[d.index];
  d.prompt_text = tokenizer.decode(row.input_token_ids);
  if (d.token_index < 0) return;
  if (d.left_token >= 0) d.left_text = tokenizer.decode({d.left_token});
  if (d.right_token >= 0) d.right_text = tokenizer.decode({d.right_token});
  const int begin = std::max(0, d.token_index - 12);
  const int end = std::min<int>(d.token_index, static_cast<int>(row.generated_token_ids.size()));
  if (end > begin) {
    d.context_text = tokenizer.decode(
        TokenIds(row.generated_token_ids.begin() + begin, row.generated_token_ids.begin() + end));
  }
}

namespace {
json optional_number(const std::optional<double>& value) {
  return value ? json(*value) : json(nullptr);
}
std::optional<double> number_or_null(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}
}  // namespace

json to_json(const Divergence& d) {
  return json{
      {"category", to_string(d.category)},
      {"field", d.field},
      {"left_label", d.left_label},
      {"right_label", d.right_label},
      {"index", d.index},
      {"prompt_index", d.prompt_index},
      {"prompt_id", d.prompt_id},
      {"token_index", d.token_index},
      {"left_token", d.left_token},
      {"right_token", d.right_token},
      {"left_logprob", optional_number(d.left_logprob)},
      {"right_logprob", optional_number(d.right_logprob)},
      {"left_margin", optional_number(d.left_margin)},
      {"right_margin", optional_number(d.right_margin)},
      {"near_tie", d.near_tie},
      {"detail", d.detail},
      {"prompt_text", d.prompt_text},
      {"left_text", d.left_text},
      {"right_text", d.right_text},
      {"context_text", d.context_text},
  };
}

Divergence divergence_from_json(const json& j) {
  if (!j.is_object()) throw Error("a divergence must be a JSON object");
  Divergence d;
  d.category = category_from_string(j.value("category", "NONE"));
  d.field = j.value("field", "");
  d.left_label = j.value("left_label", "left");
  d.right_label = j.value("right_label", "right");
  d.index = j.value("index", -1);
  d.prompt_index = j.value("prompt_index", -1);
  d.prompt_id = j.value("prompt_id", "");
  d.token_index = j.value("token_index", -1);
  d.left_token = j.value("left_token", int64_t{-1});
  d.right_token = j.value("right_token", int64_t{-1});
  d.left_logprob = number_or_null(j, "left_logprob");
  d.right_logprob = number_or_null(j, "right_logprob");
  d.left_margin = number_or_null(j, "left_margin");
  d.right_margin = number_or_null(j, "right_margin");
  d.near_tie = j.value("near_tie", false);
  d.detail = j.value("detail", "");
  d.prompt_text = j.value("prompt_text", "");
  d.left_text = j.value("left_text", "");
  d.right_text = j.value("right_text", "");
  d.context_text = j.value("context_text", "");
  return d;
}

}  // namespace detllm
