// Comparing two traces, in memory or streamed from files a row pair at a time:
// the first difference found decides the category (DESIGN.md's diff order).
#include "detllm_test/diff.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm {

using nlohmann::json;

namespace {

bool bitwise_equal(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

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

// detLLM's rule for an optional field: absent equals only absent.
template <typename T>
bool field_equal(const TraceRow& l, const TraceRow& r, TraceRow::Field field, const T& lv,
                 const T& rv) {
  const bool lp = l.fields_present & field, rp = r.fields_present & field;
  return lp == rp && (!lp || lv == rv);
}

bool same_tokenization(const TraceRow& l, const TraceRow& r) {
  return field_equal(l, r, TraceRow::kInputTokenIds, l.input_token_ids, r.input_token_ids) &&
         field_equal(l, r, TraceRow::kInputTokenIdsHash, l.input_token_ids_hash,
                     r.input_token_ids_hash);
}

bool same_decoding(const TraceRow& l, const TraceRow& r) {
  return field_equal(l, r, TraceRow::kMaxNewTokens, l.decoding_max_new_tokens,
                     r.decoding_max_new_tokens) &&
         field_equal(l, r, TraceRow::kDoSample, l.decoding_do_sample, r.decoding_do_sample) &&
         field_equal(l, r, TraceRow::kTemperature, l.decoding_temperature,
                     r.decoding_temperature) &&
         field_equal(l, r, TraceRow::kTopP, l.decoding_top_p, r.decoding_top_p) &&
         field_equal(l, r, TraceRow::kTopK, l.decoding_top_k, r.decoding_top_k);
}

// The first logprob that differs bitwise (or where one list ends), else -1.
int first_score_difference(const std::vector<double>& a, const std::vector<double>& b,
                           int64_t ulps) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (ulps == 0 ? !bitwise_equal(a[i], b[i]) : float32_ulps(a[i], b[i]) > ulps) {
      return static_cast<int>(i);
    }
  }
  return a.size() == b.size() ? -1 : static_cast<int>(n);
}

}  // namespace

int64_t float32_ulps(double a, double b) {
  // Floats ordered as integers: adjacent floats differ by one.
  auto ordered = [](float f) {
    int32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    return bits < 0 ? int64_t{INT32_MIN} - bits : int64_t{bits};
  };
  return std::llabs(ordered(static_cast<float>(a)) - ordered(static_cast<float>(b)));
}

// A served model's tokenizer as traces before 2026-12-06 named it: "server:"
// and the model's name, where now it is "server:" and 16 hex digits of its
// vocabulary's fingerprint.
bool legacy_server_tokenizer(const std::string& id) {
  const std::string prefix = "server:";
  if (id.rfind(prefix, 0) != 0) return false;
  const std::string rest = id.substr(prefix.size());
  return rest.size() != 16 || rest.find_first_not_of("0123456789abcdef") != std::string::npos;
}

// The same tokenizer: the same id; or a served model's, named the old way on
// one side, where the prompts' ids (compared before this) are the evidence,
// so that goldens recorded before the fingerprints still compare.
bool same_tokenizer(const TraceRow& l, const TraceRow& r) {
  if (field_equal(l, r, TraceRow::kTokenizerId, l.tokenizer_id, r.tokenizer_id)) return true;
  return l.tokenizer_id.rfind("server:", 0) == 0 && r.tokenizer_id.rfind("server:", 0) == 0 &&
         (legacy_server_tokenizer(l.tokenizer_id) || legacy_server_tokenizer(r.tokenizer_id));
}

// Internal: compares two traces a row pair at a time. The stages (prompt ids,
// tokenization, decoding, tokens, logprobs) keep their first divergence each,
// so that the reported one is the most fundamental difference, as if every row
// had been checked for a stage before the next stage, in one pass and constant
// memory. Traces of different lengths outrank everything.
class TraceComparer {
 public:
  explicit TraceComparer(const DiffOptions& options) : options_(options) {}

  void add(const TraceRow& l, const TraceRow& r) {
    const int i = rows_++;
    // Only stages more fundamental than the best one found so far matter.
    if (best_ > kPromptStage && l.prompt_id != r.prompt_id) {
      Divergence d = make(Category::kGenContextMismatch, "prompt_id", i, l);
      d.detail = "row " + std::to_string(i) + " is a different prompt (" +
                 l.prompt_id.substr(0, 12) + "… vs " + r.prompt_id.substr(0, 12) + "…)";
      found(kPromptStage, std::move(d), l);
      return;
    }
    if (best_ > kTokenizationStage) {
      const bool ids_differ = !same_tokenization(l, r);
      if (ids_differ || !same_tokenizer(l, r)) {
        Divergence d = make(Category::kTokenizationMismatch,
                            ids_differ ? "input_token_ids" : "tokenizer_id", i, l);
        d.detail = ids_differ ? "the prompt was tokenized differently"
                              : "tokenizer '" + l.tokenizer_id + "' vs '" + r.tokenizer_id + "'";
        found(kTokenizationStage, std::move(d), l);
        return;
      }
    }
    if (best_ > kDecodingStage && !same_decoding(l, r)) {
      Divergence d = make(Category::kGenContextMismatch, "decoding", i, l);
      d.detail =
          "decoding settings differ (max_new_tokens, do_sample, temperature, top_p or top_k)";
      found(kDecodingStage, std::move(d), l);
      return;
    }
    if (best_ > kTokenStage) {
      const int t = first_token_difference(l.generated_token_ids, r.generated_token_ids);
      if (t >= 0) {
        Divergence d = make(options_.token_category, "generated_token_ids", i, l);
        fill_step(d, l, r, t);
        found(kTokenStage, std::move(d), l);
        return;
      }
    }
    if (best_ > kScoreStage && options_.compare_scores && (l.scores || r.scores)) {
      if (!l.scores || !r.scores) {
        Divergence d = make(Category::kScoreVariance, "scores", i, l);
        d.detail = (l.scores ? options_.right_label : options_.left_label) + " has no logprobs";
        found(kScoreStage, std::move(d), l);
        return;
      }
      const int t = first_score_difference(*l.scores, *r.scores, options_.score_ulps);
      if (t >= 0) {
        Divergence d = make(Category::kScoreVariance, "scores", i, l);
        fill_step(d, l, r, t);
        found(kScoreStage, std::move(d), l);
      }
    }
  }

  // The outcome once both traces are read, with `left_rows` and `right_rows`
  // rows in all.
  DiffResult finish(size_t left_rows, size_t right_rows) {
    DiffResult result;
    result.rows = std::min(left_rows, right_rows);
    if (left_rows != right_rows) {
      Divergence d = make(Category::kGenContextMismatch, "rows", -1, TraceRow{});
      d.detail = options_.left_label + " has " + std::to_string(left_rows) + " rows, " +
                 options_.right_label + " has " + std::to_string(right_rows);
      result.divergence = std::move(d);
      return result;
    }
    if (best_ < kNoStage) {
      result.divergence = std::move(divergence_);
      result.left_row = std::move(left_row_);
    }
    return result;
  }

 private:
  enum Stage {
    kPromptStage,
    kTokenizationStage,
    kDecodingStage,
    kTokenStage,
    kScoreStage,
    kNoStage
  };

  Divergence make(Category category, const char* field, int index, const TraceRow& l) const {
    Divergence d;
    d.category = category;
    d.field = field;
    d.left_label = options_.left_label;
    d.right_label = options_.right_label;
    d.index = index;
    if (index >= 0) {
      d.prompt_index = l.prompt_index;
      d.prompt_id = l.prompt_id;
    }
    return d;
  }

  void found(Stage stage, Divergence d, const TraceRow& l) {
    best_ = stage;
    divergence_ = std::move(d);
    left_row_ = l;
  }

  const DiffOptions& options_;
  int rows_ = 0;
  Stage best_ = kNoStage;
  std::optional<Divergence> divergence_;
  std::optional<TraceRow> left_row_;
};

std::optional<Divergence> diff_traces(const Trace& left, const Trace& right,
                                      const DiffOptions& options) {
  TraceComparer comparer(options);
  for (size_t i = 0; i < std::min(left.size(), right.size()); ++i) comparer.add(left[i], right[i]);
  return comparer.finish(left.size(), right.size()).divergence;
}

namespace {

// Reads a trace on a thread of its own, a bounded number of rows ahead, so
// that the two traces of a diff are parsed in parallel in constant memory.
// next() hands rows over by swapping, so row storage is reused, and rethrows
// the reader's error where the row would have been.
class PrefetchingReader {
 public:
  explicit PrefetchingReader(const std::string& path)
      : reader_(path), rows_(kCapacity), thread_([this] { produce(); }) {}
  ~PrefetchingReader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopped_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  bool next(TraceRow& row) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return count_ > 0 || done_; });
    if (count_ == 0) {
      if (error_) std::rethrow_exception(error_);
      return false;
    }
    std::swap(row, rows_[head_]);
    head_ = (head_ + 1) % kCapacity;
    --count_;
    changed_.notify_all();
    return true;
  }

 private:
  static constexpr size_t kCapacity = 64;

  void produce() {
    TraceRow row;
    try {
      while (reader_.next(row)) {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [this] { return count_ < kCapacity || stopped_; });
        if (stopped_) return;
        std::swap(rows_[(head_ + count_) % kCapacity], row);
        ++count_;
        changed_.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    changed_.notify_all();
  }

  TraceReader reader_;
  std::vector<TraceRow> rows_;  // a ring of kCapacity rows
  size_t head_ = 0, count_ = 0;
  bool done_ = false, stopped_ = false;
  std::exception_ptr error_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace

DiffResult diff_trace_files(const std::string& left, const std::string& right,
                            const DiffOptions& options) {
  TraceReader left_reader(left);
  PrefetchingReader right_reader(right);
  TraceComparer comparer(options);
  TraceRow l, r;
  size_t left_rows = 0, right_rows = 0;
  while (true) {
    const bool has_left = left_reader.next(l);
    const bool has_right = right_reader.next(r);
    left_rows += has_left;
    right_rows += has_right;
    if (!has_left || !has_right) break;
    comparer.add(l, r);
  }
  // Count the rest of the longer trace (and check it is well formed).
  while (left_reader.next(l)) ++left_rows;
  while (right_reader.next(r)) ++right_rows;
  return comparer.finish(left_rows, right_rows);
}

void describe_text(Divergence& d, const Trace& left, const Tokenizer& tokenizer) {
  if (d.index >= 0 && d.index < static_cast<int>(left.size())) {
    describe_text(d, left[d.index], tokenizer);
  }
}

void describe_text(Divergence& d, const TraceRow& row, const Tokenizer& tokenizer) {
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
  json out{
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
  // Written only where a pack holds the sides, so that `detllm diff` of two
  // loose traces writes what it always did.
  if (!d.left_trace.empty()) out["left_trace"] = d.left_trace;
  if (!d.right_trace.empty()) out["right_trace"] = d.right_trace;
  return out;
}

Divergence divergence_from_json(const json& j) {
  using internal::int_field;
  using internal::string_field;
  if (!j.is_object()) throw Error("a divergence must be a JSON object");
  const std::string where = "divergence";
  Divergence d;
  d.category = category_from_string(string_field(j, "category", "PASS", where));
  d.field = string_field(j, "field", "", where);
  d.left_label = string_field(j, "left_label", "left", where);
  d.right_label = string_field(j, "right_label", "right", where);
  d.left_trace = string_field(j, "left_trace", "", where);
  d.right_trace = string_field(j, "right_trace", "", where);
  d.index = int_field(j, "index", -1, where);
  d.prompt_index = int_field(j, "prompt_index", -1, where);
  d.prompt_id = string_field(j, "prompt_id", "", where);
  d.token_index = int_field(j, "token_index", -1, where);
  d.left_token = internal::integer_field(j, "left_token", -1, INT64_MIN, INT64_MAX, where);
  d.right_token = internal::integer_field(j, "right_token", -1, INT64_MIN, INT64_MAX, where);
  d.left_logprob = number_or_null(j, "left_logprob");
  d.right_logprob = number_or_null(j, "right_logprob");
  d.left_margin = number_or_null(j, "left_margin");
  d.right_margin = number_or_null(j, "right_margin");
  d.near_tie = internal::bool_field(j, "near_tie", false, where);
  // detLLM's Python diff writes a `reason` for what is not a token
  // difference, and `score_index` for a logprob difference.
  d.detail = string_field(j, "detail", string_field(j, "reason", "", where), where);
  if (j.contains("score_index") && !j["score_index"].is_null()) {
    d.field = "scores";
    d.token_index = int_field(j, "score_index", -1, where);
  }
  d.prompt_text = string_field(j, "prompt_text", "", where);
  d.left_text = string_field(j, "left_text", "", where);
  d.right_text = string_field(j, "right_text", "", where);
  d.context_text = string_field(j, "context_text", "", where);
  return d;
}

}  // namespace detllm
