// Reports: the headline and findings every text output prints (render_findings),
// and report.json written and read back.
#include "detllm_test/report.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "artifacts/golden_drift.h"
#include "artifacts/json_io.h"
#include "detllm_test/error.h"
#include "detllm_test/version.h"

namespace detllm {

using nlohmann::json;

namespace {

json optional_divergence(const std::optional<Divergence>& d) {
  return d ? to_json(*d) : json(nullptr);
}

std::optional<Divergence> divergence_or_null(const json& details, const char* key,
                                             Category category) {
  auto it = details.find(key);
  if (it == details.end() || !it->is_object()) return std::nullopt;
  Divergence d = divergence_from_json(*it);
  // detLLM's divergence objects do not repeat the category; the report has it.
  if (!it->contains("category")) d.category = category;
  return d;
}

std::string join(const std::vector<int>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  return out;
}

// One side of a token divergence: "run 0: 317 " the"  logprob -0.521370  margin 0.0130".
std::string side_line(const std::string& label, int64_t token, const std::string& text,
                      const std::optional<double>& logprob, const std::optional<double>& margin) {
  std::string line = label + ": ";
  if (token < 0) return line + "(no token: the generation ended here)";
  line += std::to_string(token);
  if (!text.empty()) line += " " + internal::quote_text(text, 24);
  if (logprob) line += "  logprob " + internal::format_number(*logprob, "%.9g");
  if (margin) {
    line += "  margin " + internal::format_number(*margin, "%.4g");
    if (*margin < kNearTieMargin) line += " (near-tie)";
  }
  return line;
}

}  // namespace

const std::vector<DivergenceKind>& divergence_kinds() {
  static const std::vector<DivergenceKind> kinds = {
      {&Report::first_divergence, "first_divergence", Category::kRunVarianceFixedBatch,
       "between runs"},
      {&Report::batch_divergence, "batch_divergence", Category::kBatchVariance,
       "between batch sizes"},
      {&Report::thread_divergence, "thread_divergence", Category::kThreadVariance,
       "between thread counts"},
      {&Report::prefill_divergence, "prefill_divergence", Category::kPrefillDecodeMismatch,
       "between decoding and one pass over the sequence"},
  };
  return kinds;
}

const std::optional<Divergence>& Report::first_found() const {
  for (const DivergenceKind& kind : divergence_kinds()) {
    if (this->*kind.member) return this->*kind.member;
  }
  return first_divergence;
}

namespace {

std::string joined(const std::vector<std::string>& shapes) {
  std::string out;
  for (size_t i = 0; i < shapes.size(); ++i) out += (i ? "x" : "") + shapes[i];
  return out.empty() ? "()" : out;
}

json op_json(const std::optional<OpDivergence>& op) {
  if (!op) return nullptr;
  return {{"op", op->op},
          {"call_index", op->call_index},
          {"scope", op->scope},
          {"left_inputs", op->left_inputs},
          {"right_inputs", op->right_inputs},
          {"left_output", op->left_output},
          {"right_output", op->right_output},
          {"max_abs_diff", op->max_abs_diff},
          {"max_ulps", op->max_ulps},
          {"ops_equal_before", op->ops_equal_before},
          {"detail", op->detail}};
}

std::optional<OpDivergence> op_from_json(const json& details) {
  auto it = details.find("first_divergent_op");
  if (it == details.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) throw Error("the report's details.first_divergent_op must be an object");
  const json& o = *it;
  const std::string where = "report details.first_divergent_op";
  OpDivergence op;
  op.op = internal::string_field(o, "op", "", where);
  op.call_index = internal::int_field(o, "call_index", -1, where);
  op.scope = internal::string_field(o, "scope", "", where);
  op.left_inputs = internal::strings_field(o, "left_inputs", where);
  op.right_inputs = internal::strings_field(o, "right_inputs", where);
  op.left_output = internal::string_field(o, "left_output", "", where);
  op.right_output = internal::string_field(o, "right_output", "", where);
  op.max_abs_diff = internal::number_field(o, "max_abs_diff", 0.0, where);
  op.max_ulps = internal::integer_field(o, "max_ulps", 0, 0, INT64_MAX, where);
  op.ops_equal_before = internal::int_field(o, "ops_equal_before", 0, where);
  op.detail = internal::string_field(o, "detail", "", where);
  return op;
}

json drift_json(const std::optional<LayerDrift>& drift) {
  if (!drift) return nullptr;
  json layers = json::array();
  for (const LayerDrift::Layer& l : drift->layers) {
    layers.push_back(
        {{"layer", l.name}, {"max_abs_diff", l.max_abs_diff}, {"max_ulps", l.max_ulps}});
  }
  return {{"token_index", drift->token_index}, {"layers", layers}};
}

std::optional<LayerDrift> drift_from_json(const json& details) {
  auto it = details.find("layer_drift");
  if (it == details.end() || it->is_null()) return std::nullopt;
  const std::string where = "report details.layer_drift";
  if (!it->is_object() || !it->value("layers", json::array()).is_array()) {
    throw Error("the report's details.layer_drift must be an object with a 'layers' array");
  }
  LayerDrift drift;
  drift.token_index = internal::int_field(*it, "token_index", -1, where);
  for (const json& l : it->value("layers", json::array())) {
    if (!l.is_object()) throw Error("the report's details.layer_drift.layers must hold objects");
    drift.layers.push_back({internal::string_field(l, "layer", "", where),
                            internal::number_field(l, "max_abs_diff", 0.0, where),
                            internal::integer_field(l, "max_ulps", 0, 0, INT64_MAX, where)});
  }
  return drift;
}

json routing_json(const std::optional<ExpertRoutingDivergence>& r) {
  if (!r) return nullptr;
  return {{"layer", r->layer},
          {"token_index", r->token_index},
          {"position", r->position},
          {"left_experts", r->left_experts},
          {"right_experts", r->right_experts},
          {"left_margin", r->left_margin},
          {"right_margin", r->right_margin}};
}

std::optional<ExpertRoutingDivergence> routing_from_json(const json& details) {
  auto it = details.find("expert_routing");
  if (it == details.end() || it->is_null()) return std::nullopt;
  const std::string where = "report details.expert_routing";
  if (!it->is_object()) throw Error("the " + where + " must be an object");
  const auto experts = [&](const char* key) {
    std::vector<int64_t> out;
    for (int id : internal::ints_field(*it, key, where)) out.push_back(id);
    return out;
  };
  ExpertRoutingDivergence r;
  r.layer = internal::int_field(*it, "layer", -1, where);
  r.token_index = internal::int_field(*it, "token_index", -1, where);
  r.position = internal::int_field(*it, "position", -1, where);
  r.left_experts = experts("left_experts");
  r.right_experts = experts("right_experts");
  r.left_margin = internal::number_field(*it, "left_margin", 0.0, where);
  r.right_margin = internal::number_field(*it, "right_margin", 0.0, where);
  return r;
}

json needle_positions_json(const std::vector<Report::NeedleDivergences>& positions) {
  json out = json::array();
  for (const auto& p : positions)
    out.push_back({{"token_index", p.token_index}, {"trials", p.trials}});
  return out;
}

std::vector<Report::NeedleDivergences> needle_positions_from_json(const json& details) {
  const std::string where = "report details.needle_divergence_positions";
  std::vector<Report::NeedleDivergences> positions;
  const auto it = details.find("needle_divergence_positions");
  if (it == details.end() || it->is_null()) return positions;
  if (!it->is_array()) throw Error("the " + where + " must be an array");
  for (const json& p : *it) {
    if (!p.is_object()) throw Error("the " + where + " must hold objects");
    positions.push_back({internal::int_field(p, "token_index", 0, where),
                         internal::int_field(p, "trials", 0, where)});
  }
  return positions;
}

}  // namespace

std::string render_expert_routing(const ExpertRoutingDivergence& r) {
  const auto set = [](const std::vector<int64_t>& experts) {
    std::string out = "{";
    for (size_t i = 0; i < experts.size(); ++i) out += (i ? ", " : "") + std::to_string(experts[i]);
    return out + "}";
  };
  std::ostringstream out;
  out.precision(2);
  out << "expert routing differed at layer " << r.layer << ", token " << r.token_index
      << ": experts " << set(r.left_experts) << " vs " << set(r.right_experts) << ", router margin "
      << r.left_margin << " (position " << r.position << "; the other side's margin "
      << r.right_margin << ")";
  return out.str();
}

std::string render_layer_drift(const LayerDrift& drift) {
  std::ostringstream out;
  out << "layer drift at token " << drift.token_index << " (max |Δ| after each layer):";
  out.precision(3);
  for (size_t i = 0; i < drift.layers.size(); ++i) {
    out << (i ? ", " : " ") << drift.layers[i].name << " " << drift.layers[i].max_abs_diff;
  }
  return out.str();
}

std::string render_op_divergence(const OpDivergence& op) {
  std::ostringstream out;
  out << "first differing op: " << op.op << " #" << op.call_index;
  if (!op.scope.empty()) out << " in " << op.scope;
  if (!op.detail.empty()) {
    out << " — " << op.detail;
  } else {
    out << " — " << joined(op.left_inputs) << " vs " << joined(op.right_inputs) << ", max |Δ| ";
    out.precision(2);
    out << std::scientific << op.max_abs_diff << std::defaultfloat << " (" << op.max_ulps
        << " ULP)";
  }
  out << "; the " << op.ops_equal_before << " ops before it agree";
  return out.str();
}

std::string Report::headline() const {
  // One line, whatever the fields read from a file hold.
  const auto line_of = [this]() -> std::string {
    if (passed && !golden.empty() && tier_effective == 0) {  // downgraded: nothing was compared
      return "PASS at tier 0: nothing was asserted against golden '" + golden + "'";
    }
    if (passed && !golden.empty()) return "PASS: the outputs match golden '" + golden + "'";
    if (passed && runs == 0) return "PASS: the traces agree";  // a diff of two traces
    if (passed) {
      std::string line =
          "PASS: " + std::string(runs == 1 ? "1 run" : std::to_string(runs) + " runs");
      if (batch_sizes.size() > 1) {
        line += ", batch sizes";
        for (size_t i = 0; i < batch_sizes.size(); ++i)
          line += (i ? ", " : " ") + std::to_string(batch_sizes[i]);
      }
      if (needle_trials > 0) line += ", " + std::to_string(needle_trials) + " needle trials";
      if (thread_counts.size() > 1) {
        line += ", thread counts";
        for (size_t i = 0; i < thread_counts.size(); ++i)
          line += (i ? ", " : " ") + std::to_string(thread_counts[i]);
      }
      line += " agree";
      if (prefill_compared) line += ", and one pass over each sequence matches its decoding";
      line += " (tier " + std::to_string(tier_effective) + ")";
      if (!not_exercised.empty()) {  // no claim for what was never exercised
        line += "; not exercised: " + not_exercised.front();
        if (not_exercised.size() > 1) {
          line += " (and " + std::to_string(not_exercised.size() - 1) + " more)";
        }
      }
      return line;
    }
    std::string line = "FAIL: " + to_string(category);
    for (const DivergenceKind& kind : divergence_kinds()) {
      const std::optional<Divergence>& d = this->*kind.member;
      if (category != kind.category || !d) continue;
      if (kind.member == &Report::prefill_divergence) {
        return line + " — one forward pass over the sequence differs from incremental decoding";
      }
      return line + " — " + d->right_label + " diverged from " + d->left_label;
    }
    if (category == Category::kScoreVariance) {
      const auto& d = first_found();
      if (d) line += " — logprobs of " + d->right_label + " differ from " + d->left_label;
    } else if (category == Category::kGoldenMismatch && first_divergence) {
      line += " — the outputs differ from golden '" + golden + "'";
    } else if (category == Category::kEnvMismatch) {
      line += " — the environment changed before run " + std::to_string(env_mismatch_run);
    } else if (category == Category::kUnsupportedRequest && !capability_failures.empty()) {
      line += " — " + capability_failures.front();
    } else if (first_divergence && !first_divergence->detail.empty()) {
      line += " — " + first_divergence->detail;
    }
    return line;
  };
  return internal::printable(line_of());
}

json to_json(const Report& r) {
  json out{
      {"schema_version", kSchemaVersion},
      {"detllm_version", kVersion},
      {"artifact_type", "report"},
      {"status", r.passed ? "PASS" : "FAIL"},
      {"category", to_string(r.category)},
      {"headline", r.headline()},
      {"details",
       {
           {"runs", r.runs},
           {"batch_sizes", r.batch_sizes},
           {"baseline_batch_size", r.baseline_batch_size},
           {"thread_counts", r.thread_counts},
           {"prefill_compared", r.prefill_compared},
           {"first_divergent_op", op_json(r.first_divergent_op)},
           {"layer_drift", drift_json(r.layer_drift)},
           {"expert_routing", routing_json(r.expert_routing)},
           {"distinct_outputs", r.distinct_outputs},
           {"cold_start_differs", r.cold_start_differs},
           {"tier_requested", r.tier_requested},
           {"tier_effective", r.tier_effective},
           {"mode", r.mode},
           {"model", r.model},
           {"prompts", r.prompts},
           {"needle_trials", r.needle_trials},
           {"prompt_cache_tokens", r.prompt_cache_tokens},
           {"needle_distinct_completions", r.needle_distinct_completions},
           {"needle_divergence_positions", needle_positions_json(r.needle_divergence_positions)},
           {"env_differences", r.env_differences},
           {"env_mismatch_run", r.env_mismatch_run},
           {"golden", r.golden.empty() ? json(nullptr) : json(r.golden)},
           {"golden_drift", internal::golden_drift_json(r.golden_drift)},
           {"likely_causes", r.likely_causes},
           {"capability_failures", r.capability_failures},
           {"not_exercised", r.not_exercised},
           {"server_concurrency", r.server_concurrency},
           {"notes", r.notes},
           {"controls", r.controls},
       }},
  };
  for (const DivergenceKind& kind : divergence_kinds()) {
    out["details"][kind.key] = optional_divergence(r.*kind.member);
  }
  return out;
}

namespace {

// The fields a report holds that are printed only quoted (quote_text), so
// kept byte for byte: a token's text may be "\n".
bool quoted_when_printed(const std::string& key) {
  return key == "left_text" || key == "right_text" || key == "prompt_text" || key == "context_text";
}

// Every other string of a report read from a file, made printable on one
// line: the file may be anyone's, and its strings reach terminals and CI logs.
void make_printable(json& value) {
  if (value.is_string()) {
    value = internal::printable(value.get_ref<const std::string&>());
  } else if (value.is_array()) {
    for (json& item : value) make_printable(item);
  } else if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (!quoted_when_printed(it.key())) make_printable(it.value());
    }
  }
}

}  // namespace

Report report_from_json(const json& file) {
  using internal::bool_field;
  using internal::int_field;
  using internal::string_field;
  using internal::strings_field;
  if (!file.is_object()) throw Error("a report must be a JSON object");
  json j = file;
  make_printable(j);
  Report r;
  r.category = category_from_string(string_field(j, "category", "PASS", "report"));
  const std::string status = string_field(j, "status", "PASS", "report");
  if (status != "PASS" && status != "FAIL") {
    throw Error("the report's status " + internal::quote_text(status) +
                " is neither PASS nor FAIL");
  }
  r.passed = status == "PASS";
  const json details = j.value("details", json::object());
  if (!details.is_object()) throw Error("the report's details must be a JSON object");
  const std::string where = "report details";
  r.runs = int_field(details, "runs", 0, where);
  r.batch_sizes = internal::ints_field(details, "batch_sizes", where);
  r.baseline_batch_size = int_field(details, "baseline_batch_size", 1, where);
  for (const DivergenceKind& kind : divergence_kinds()) {
    r.*kind.member = divergence_or_null(details, kind.key, r.category);
  }
  r.thread_counts = internal::ints_field(details, "thread_counts", where);
  r.prefill_compared = bool_field(details, "prefill_compared", false, where);
  r.first_divergent_op = op_from_json(details);
  r.layer_drift = drift_from_json(details);
  r.expert_routing = routing_from_json(details);
  r.distinct_outputs = int_field(details, "distinct_outputs", r.runs > 0 ? 1 : 0, where);
  r.cold_start_differs = bool_field(details, "cold_start_differs", false, where);
  r.tier_requested = int_field(details, "tier_requested", -1, where);
  r.tier_effective = int_field(details, "tier_effective", -1, where);
  r.mode = string_field(details, "mode", "", where);
  r.model = string_field(details, "model", "", where);
  r.prompts = int_field(details, "prompts", 0, where);
  r.needle_trials = int_field(details, "needle_trials", 0, where);
  r.prompt_cache_tokens = internal::ints_field(details, "prompt_cache_tokens", where);
  r.needle_distinct_completions =
      internal::ints_field(details, "needle_distinct_completions", where);
  r.needle_divergence_positions = needle_positions_from_json(details);
  r.env_differences = strings_field(details, "env_differences", where);
  r.env_mismatch_run = int_field(details, "env_mismatch_run", -1, where);
  r.golden = string_field(details, "golden", "", where);
  r.golden_drift = internal::golden_drift_from_json(details);
  r.likely_causes = strings_field(details, "likely_causes", where);
  r.capability_failures = strings_field(details, "capability_failures", where);
  r.not_exercised = strings_field(details, "not_exercised", where);
  r.server_concurrency = strings_field(details, "server_concurrency", where);
  r.notes = strings_field(details, "notes", where);
  r.controls = string_field(details, "controls", "", where);
  // A report is read from files anyone can edit: one whose status says the
  // opposite of what it found would render as a PASS over a failure.
  if (r.passed != (r.category == Category::kPass)) {
    throw Error("the report's status " + status + " contradicts its category " +
                to_string(r.category));
  }
  if (r.passed && r.tier_effective != 0) {  // tier 0 observes without asserting
    for (const DivergenceKind& kind : divergence_kinds()) {
      if (r.*kind.member) {
        throw Error("the report's status PASS contradicts its " + std::string(kind.key) +
                    " (a divergence passes only at tier 0, where nothing is asserted)");
      }
    }
  }
  return r;
}

std::string render_divergence_text(const Divergence& d, int indent) {
  const std::string pad(indent, ' ');
  std::ostringstream out;
  out << pad;
  if (d.index >= 0) out << "prompt #" << (d.prompt_index >= 0 ? d.prompt_index : d.index);
  if (!d.prompt_text.empty()) out << " " << internal::quote_text(d.prompt_text);
  if (d.token_index < 0) {
    out << (d.index >= 0 ? ": " : "") << (d.detail.empty() ? d.field : d.detail) << "\n";
    return out.str();
  }
  out << (d.field == "scores" ? " logprob of generated token " : " at generated token ")
      << d.token_index << ":\n";
  out << pad << "  "
      << side_line(d.left_label, d.left_token, d.left_text, d.left_logprob, d.left_margin) << "\n";
  out << pad << "  "
      << side_line(d.right_label, d.right_token, d.right_text, d.right_logprob, d.right_margin)
      << "\n";
  if (!d.context_text.empty())
    out << pad << "  after: " << internal::quote_text(d.context_text) << "\n";
  if (d.near_tie) {
    out << pad << "  the top two logits were within " << kNearTieMargin
        << ": a near-tie, so tiny numeric differences flip the choice\n";
  }
  return internal::printable(out.str(), /*keep_newlines=*/true);
}

std::string render_findings(const Report& r, int indent) {
  const std::string pad(indent, ' ');
  std::ostringstream out;
  if (r.cold_start_differs) {
    out << pad
        << "cold start: run 0, the first call after loading, differs while the later runs "
           "agree with each other\n";
  }
  for (const DivergenceKind& kind : divergence_kinds()) {
    const std::optional<Divergence>& d = r.*kind.member;
    if (!d) continue;
    // first_divergence also holds a golden's, or a diff's (no runs).
    const bool first = kind.member == &Report::first_divergence;
    const std::string between = first && !r.golden.empty() ? " from the golden"
                                : first && r.runs == 0     ? ""
                                                           : std::string(" ") + kind.between;
    out << pad << "first divergence" << between << " (" << to_string(d->category) << "):\n"
        << render_divergence_text(*d, indent + 2);
  }
  if (r.golden_drift) out << internal::render_golden_drift(*r.golden_drift, pad);
  if (r.expert_routing) out << pad << render_expert_routing(*r.expert_routing) << "\n";
  if (r.first_divergent_op) out << pad << render_op_divergence(*r.first_divergent_op) << "\n";
  if (r.layer_drift) out << pad << render_layer_drift(*r.layer_drift) << "\n";
  if (r.category == Category::kRunVarianceFixedBatch && r.runs > 0) {
    out << pad << "outputs: " << r.distinct_outputs << " distinct output"
        << (r.distinct_outputs == 1 ? "" : "s") << " in " << r.runs << " runs\n";
  }
  for (const std::string& phase : r.server_concurrency) {
    out << pad << "server concurrency: " << phase << "\n";
  }
  if (!r.prompt_cache_tokens.empty()) {
    out << pad << "prompt cache (tokens the server served from it, per run; -1: not said): "
        << join(r.prompt_cache_tokens) << "\n";
  }
  if (!r.needle_distinct_completions.empty()) {
    out << pad << "needle trials: distinct completions per prompt (run 0 and " << r.needle_trials
        << " trials): " << join(r.needle_distinct_completions);
    if (!r.needle_divergence_positions.empty()) out << "; first left run 0 at generated token";
    for (size_t i = 0; i < r.needle_divergence_positions.size(); ++i) {
      const auto& p = r.needle_divergence_positions[i];
      out << (i ? ", " : " ") << p.token_index << " (" << p.trials
          << (p.trials == 1 ? " trial)" : " trials)");
    }
    out << "\n";
  }
  if (!r.env_differences.empty()) {
    if (r.golden.empty()) {
      out << pad << "environment changed before run " << r.env_mismatch_run << ":";
    } else {
      out << pad << "environment differs from the golden's recording:";
    }
    for (const std::string& field : r.env_differences) out << " " << field;
    out << "\n";
  }
  if (!r.likely_causes.empty()) {
    out << pad << "likely causes:\n";
    for (const std::string& cause : r.likely_causes) out << pad << "  " << cause << "\n";
  }
  for (const std::string& failure : r.capability_failures) {
    out << pad << "unsupported: " << failure << "\n";
  }
  for (const std::string& phase : r.not_exercised) out << pad << "not exercised: " << phase << "\n";
  for (const std::string& note : r.notes) out << pad << "note: " << note << "\n";
  if (!r.controls.empty()) out << pad << "controls: " << r.controls << "\n";
  return internal::printable(out.str(), /*keep_newlines=*/true);
}

std::string render_text(const Report& r) {
  std::ostringstream out;
  out << "detllm report: " << (r.passed ? "PASS" : "FAIL");
  if (r.category != Category::kPass) out << " — " << to_string(r.category);
  out << "\n" << r.headline() << "\n";
  if (!r.model.empty()) out << "model: " << r.model << "\n";
  if (r.tier_requested >= 0) {
    out << "tier: " << r.tier_requested << " requested, " << r.tier_effective << " effective ("
        << r.mode << ")\n";
  }
  if (r.runs > 0) {
    out << "runs: " << r.runs << " at batch size " << r.baseline_batch_size;
    if (!r.batch_sizes.empty()) out << "; batch sizes: " << join(r.batch_sizes);
    if (r.needle_trials > 0) out << "; needle trials: " << r.needle_trials;
    out << "; prompts: " << r.prompts << "\n";
  }
  return internal::printable(out.str(), /*keep_newlines=*/true) + render_findings(r, 0);
}

}  // namespace detllm
