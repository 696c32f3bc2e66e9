#include "detllm_test/report.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "detllm_test/version.h"
#include "internal/json_io.h"

namespace detllm {

using nlohmann::json;

namespace {

json optional_divergence(const std::optional<Divergence>& d) {
  return d ? to_json(*d) : json(nullptr);
}

std::string format_number(double value, const char* format) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

// One side of a token divergence: "run 0: 317 " the"  logprob -0.521370  margin 0.0130".
std::string side_line(const json& d, const std::string& side) {
  std::string line = d.value(side + "_label", side) + ": ";
  const int64_t token = d.value(side + "_token", int64_t{-1});
  if (token < 0) return line + "(no token: the generation ended here)";
  line += std::to_string(token);
  const std::string text = d.value(side + "_text", "");
  if (!text.empty()) line += " " + internal::quote_text(text, 24);
  const json& logprob = d[side + "_logprob"];
  if (logprob.is_number()) line += "  logprob " + format_number(logprob.get<double>(), "%.9g");
  const json& margin = d[side + "_margin"];
  if (margin.is_number()) {
    line += "  margin " + format_number(margin.get<double>(), "%.4g");
    if (margin.get<double>() < kNearTieMargin) line += " (near-tie)";
  }
  return line;
}

std::string render_divergence_json(const json& d, int indent) {
  const std::string pad(indent, ' ');
  std::ostringstream out;
  out << pad << "prompt #" << d.value("prompt_index", -1);
  const std::string prompt_text = d.value("prompt_text", "");
  if (!prompt_text.empty()) out << " " << internal::quote_text(prompt_text);
  const int token_index = d.value("token_index", -1);
  if (token_index < 0) {
    out << ": " << d.value("detail", d.value("field", "")) << "\n";
    return out.str();
  }
  const bool scores_only = d.value("field", "") == "scores";
  out << (scores_only ? " logprob of generated token " : " at generated token ") << token_index
      << ":\n";
  out << pad << "  " << side_line(d, "left") << "\n";
  out << pad << "  " << side_line(d, "right") << "\n";
  const std::string context = d.value("context_text", "");
  if (!context.empty()) out << pad << "  after: " << internal::quote_text(context) << "\n";
  if (d.value("near_tie", false)) {
    out << pad << "  the top two logits were within " << kNearTieMargin
        << ": a near-tie, so tiny numeric differences flip the choice\n";
  }
  return out.str();
}

std::string join_ints(const json& values) {
  std::string out;
  for (const json& v : values) {
    if (!out.empty()) out += ", ";
    out += v.dump();
  }
  return out;
}

}  // namespace

std::string Report::headline() const {
  if (passed) {
    std::string line = "PASS: " + std::string(runs == 1 ? "1 run" : std::to_string(runs) + " runs");
    if (batch_sizes.size() > 1) {
      line += ", batch sizes";
      for (size_t i = 0; i < batch_sizes.size(); ++i)
        line += (i ? ", " : " ") + std::to_string(batch_sizes[i]);
    }
    if (needle_trials > 0) line += ", " + std::to_string(needle_trials) + " needle trials";
    return line + " agree (tier " + std::to_string(tier_effective) + ")";
  }
  std::string line = "FAIL: " + to_string(category);
  if (category == Category::kRunVarianceFixedBatch && first_divergence) {
    line +=
        " — " + first_divergence->right_label + " diverged from " + first_divergence->left_label;
  } else if (category == Category::kBatchVariance && batch_divergence) {
    line +=
        " — " + batch_divergence->right_label + " diverged from " + batch_divergence->left_label;
  } else if (category == Category::kScoreVariance) {
    const auto& d = first_divergence ? first_divergence : batch_divergence;
    if (d) line += " — logprobs of " + d->right_label + " differ from " + d->left_label;
  } else if (category == Category::kEnvMismatch) {
    line += " — the environment changed before run " + std::to_string(env_mismatch_run);
  } else if (category == Category::kUnsupportedRequest && !capability_failures.empty()) {
    line += " — " + capability_failures.front();
  }
  return line;
}

json to_json(const Report& r) {
  return json{
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
           {"first_divergence", optional_divergence(r.first_divergence)},
           {"batch_divergence", optional_divergence(r.batch_divergence)},
           {"distinct_outputs", r.distinct_outputs},
           {"cold_start_differs", r.cold_start_differs},
           {"tier_requested", r.tier_requested},
           {"tier_effective", r.tier_effective},
           {"mode", r.mode},
           {"model", r.model},
           {"prompts", r.prompts},
           {"needle_trials", r.needle_trials},
           {"env_differences", r.env_differences},
           {"env_mismatch_run", r.env_mismatch_run},
           {"capability_failures", r.capability_failures},
           {"notes", r.notes},
           {"controls", r.controls},
       }},
  };
}

std::string render_text(const Report& report) { return render_report_text(to_json(report)); }

std::string render_divergence_text(const Divergence& divergence, int indent) {
  return render_divergence_json(to_json(divergence), indent);
}

std::string render_report_text(const json& report) {
  const json details = report.value("details", json::object());
  std::ostringstream out;
  out << "detllm report: " << report.value("status", "?");
  const std::string category = report.value("category", "NONE");
  if (category != "NONE") out << " — " << category;
  out << "\n";
  if (report.contains("headline")) out << report["headline"].get<std::string>() << "\n";
  if (details.contains("model")) out << "model: " << details["model"].get<std::string>() << "\n";
  if (details.contains("tier_requested")) {
    out << "tier: " << details.value("tier_requested", 0) << " requested, "
        << details.value("tier_effective", 0) << " effective (" << details.value("mode", "")
        << ")\n";
  }
  out << "runs: " << details.value("runs", 0) << " at batch size "
      << details.value("baseline_batch_size", 1);
  if (details.contains("batch_sizes"))
    out << "; batch sizes: " << join_ints(details["batch_sizes"]);
  if (details.value("needle_trials", 0) > 0)
    out << "; needle trials: " << details["needle_trials"].dump();
  if (details.contains("prompts")) out << "; prompts: " << details["prompts"].dump();
  out << "\n";
  if (details.contains("distinct_outputs")) {
    out << "outputs: " << details["distinct_outputs"].dump() << " distinct output"
        << (details["distinct_outputs"] == 1 ? "" : "s") << " in " << details.value("runs", 0)
        << " runs\n";
  }
  if (details.value("cold_start_differs", false)) {
    out << "cold start: run 0, the first call after loading, differs while the later runs "
           "agree with each other\n";
  }
  const json& first = details.contains("first_divergence") ? details["first_divergence"] : json();
  if (first.is_object()) {
    out << "first divergence between runs (" << first.value("category", "") << "):\n"
        << render_divergence_json(first, 2);
  }
  const json& batch = details.contains("batch_divergence") ? details["batch_divergence"] : json();
  if (batch.is_object()) {
    out << "first divergence between batch sizes (" << batch.value("category", "") << "):\n"
        << render_divergence_json(batch, 2);
  }
  if (details.contains("env_differences") && !details["env_differences"].empty()) {
    out << "environment changed before run " << details.value("env_mismatch_run", -1) << ":";
    for (const json& field : details["env_differences"]) out << " " << field.get<std::string>();
    out << "\n";
  }
  if (details.contains("capability_failures")) {
    for (const json& failure : details["capability_failures"]) {
      out << "unsupported: " << failure.get<std::string>() << "\n";
    }
  }
  if (details.contains("notes")) {
    for (const json& note : details["notes"]) out << "note: " << note.get<std::string>() << "\n";
  }
  if (details.contains("controls"))
    out << "controls: " << details["controls"].get<std::string>() << "\n";
  return out.str();
}

}  // namespace detllm
