// A golden's drift under a tolerance: measured per generated position, judged
// by the two rules (logprob within tolerance and the same top-1, or a golden
// margin within tolerance), and reported.
#include "artifacts/golden_drift.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

using nlohmann::json;
using Position = GoldenDrift::Position;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A drift or margin for a message; NaN is what a server did not say.
std::string number(double value) { return std::isnan(value) ? "unknown" : format_number(value); }

std::string where(const Position& p) {
  return "prompt #" + std::to_string(p.prompt) + ", generated token " + std::to_string(p.token);
}

double margin_at(const TraceRow& row, size_t t) {
  return t < row.logit_margins.size() ? row.logit_margins[t] : kNaN;
}

json position_json(const Position& p) {
  const auto finite = [](double v) { return std::isnan(v) ? json(nullptr) : json(v); };
  return {{"prompt", p.prompt},
          {"token", p.token},
          {"golden_token", p.golden_token},
          {"candidate_top1", p.candidate_top1},
          {"golden_logprob", p.golden_logprob},
          {"candidate_logprob", finite(p.candidate_logprob)},
          {"drift", finite(p.drift)},
          {"golden_margin", finite(p.golden_margin)},
          {"candidate_margin", finite(p.candidate_margin)}};
}

double nan_or_number(const json& o, const char* key, const std::string& at) {
  const auto it = o.find(key);
  if (it == o.end() || it->is_null()) return kNaN;
  return number_field(o, key, 0.0, at);
}

Position position_from_json(const json& o, const std::string& at) {
  if (!o.is_object()) throw Error(at + " must be an object");
  Position p;
  p.prompt = int_field(o, "prompt", -1, at);
  p.token = int_field(o, "token", -1, at);
  p.golden_token = integer_field(o, "golden_token", -1, -1, INT64_MAX, at);
  p.candidate_top1 = integer_field(o, "candidate_top1", -1, -1, INT64_MAX, at);
  p.golden_logprob = number_field(o, "golden_logprob", 0.0, at);
  p.candidate_logprob = nan_or_number(o, "candidate_logprob", at);  // unknown over an API
  p.drift = nan_or_number(o, "drift", at);
  p.golden_margin = nan_or_number(o, "golden_margin", at);
  p.candidate_margin = nan_or_number(o, "candidate_margin", at);
  return p;
}

}  // namespace

GoldenDrift measure_drift(const Trace& golden, const Trace& candidate, const Tolerance& tolerance,
                          bool compare_logprobs) {
  GoldenDrift drift;
  drift.tolerance = tolerance.to_string();
  drift.logprob_tolerance = tolerance.logprob;
  drift.margin_tolerance = tolerance.margin;
  if (golden.size() != candidate.size()) {
    throw Error("the golden has " + std::to_string(golden.size()) + " rows and the candidate " +
                std::to_string(candidate.size()));
  }
  std::vector<Position> all;
  for (size_t i = 0; i < golden.size(); ++i) {
    const TraceRow &g = golden[i], &c = candidate[i];
    const size_t n = g.generated_token_ids.size();
    if (c.generated_token_ids.size() != n || !g.scores || !c.scores || g.scores->size() != n ||
        c.scores->size() != n) {
      throw Error("prompt #" + std::to_string(i) +
                  ": a teacher-forced comparison needs the golden's logprobs and the candidate's "
                  "score of each of its " +
                  std::to_string(n) + " generated tokens");
    }
    for (size_t t = 0; t < n; ++t) {
      Position p;
      p.prompt = g.prompt_index >= 0 ? g.prompt_index : static_cast<int>(i);
      p.token = static_cast<int>(t);
      p.golden_token = g.generated_token_ids[t];
      p.candidate_top1 = c.generated_token_ids[t];
      p.golden_logprob = (*g.scores)[t];
      p.candidate_logprob = (*c.scores)[t];
      p.drift = std::fabs(p.candidate_logprob - p.golden_logprob);
      p.golden_margin = margin_at(g, t);
      p.candidate_margin = margin_at(c, t);
      all.push_back(p);
    }
  }
  drift.positions = static_cast<int>(all.size());
  const size_t every = all.size() / GoldenDrift::kMaxPlotted + 1;
  for (size_t k = 0; k < all.size(); ++k) {
    const Position& p = all[k];
    const bool same_bits = p.golden_logprob == p.candidate_logprob;
    drift.exact = drift.exact && !p.flip() && (same_bits || !compare_logprobs);
    // A near-tie: any numeric change may flip it, and its logprob with it.
    const bool near_tie = !std::isnan(p.golden_margin) && p.golden_margin <= tolerance.margin;
    const bool within = !compare_logprobs || p.drift <= tolerance.logprob;
    const bool passed = near_tie || (within && !p.flip());
    if (k % every == 0) {
      drift.points.push_back({std::isnan(p.golden_margin) ? -1 : p.golden_margin,
                              std::isnan(p.drift) ? -1 : p.drift, passed});
    }
    if (!passed) {
      if (!drift.failure) {
        drift.failure = p;
        drift.failure_kind = p.flip() ? "confident flip" : "drift";
      }
      continue;
    }
    if (p.flip()) drift.benign_flips.push_back(p);
    if (compare_logprobs && !std::isnan(p.drift) &&
        (!drift.largest || p.drift > drift.largest->drift)) {
      drift.largest = p;
    }
  }
  return drift;
}

Divergence drift_divergence(const GoldenDrift& drift, const Trace& golden) {
  const Position& p = *drift.failure;
  Divergence d;
  d.category = Category::kGoldenMismatch;
  d.left_label = "golden";
  d.right_label = "now (teacher-forced)";
  d.index = -1;
  for (size_t i = 0; i < golden.size(); ++i) {
    if (golden[i].prompt_index == p.prompt || (golden[i].prompt_index < 0 && p.prompt == int(i))) {
      d.index = static_cast<int>(i);
    }
  }
  d.token_index = p.token;
  d.field = p.flip() ? "generated_token_ids" : "scores";
  d.left_token = p.golden_token;
  d.right_token = p.candidate_top1;
  d.left_logprob = p.golden_logprob;
  d.right_logprob = p.candidate_logprob;
  if (!std::isnan(p.golden_margin)) d.left_margin = p.golden_margin;
  if (!std::isnan(p.candidate_margin)) d.right_margin = p.candidate_margin;
  d.detail = p.flip() ? "a confident flip (a regression): at " + where(p) +
                            " the candidate's top-1 is " + std::to_string(p.candidate_top1) +
                            ", not the golden's " + std::to_string(p.golden_token) +
                            ", where the golden's margin " + number(p.golden_margin) +
                            " is above the margin tolerance " + number(drift.margin_tolerance) +
                            " (golden token's logprob moved " + number(p.drift) + ")"
                      : "drift beyond tolerance: at " + where(p) +
                            " the golden token's logprob moved " + number(p.drift) + " (" +
                            number(p.golden_logprob) + " -> " + number(p.candidate_logprob) +
                            "), above the tolerance " + number(drift.logprob_tolerance) +
                            "; the golden's margin there " + number(p.golden_margin);
  return d;
}

json golden_drift_json(const std::optional<GoldenDrift>& drift) {
  if (!drift) return nullptr;
  json flips = json::array();
  for (const Position& p : drift->benign_flips) flips.push_back(position_json(p));
  json points = json::array();
  for (const GoldenDrift::Point& p : drift->points) points.push_back({p.margin, p.drift, p.passed});
  return {{"tolerance", drift->tolerance},
          {"logprob_tolerance", drift->logprob_tolerance},
          {"margin_tolerance", drift->margin_tolerance},
          {"calibration", drift->calibration},
          {"positions", drift->positions},
          {"exact", drift->exact},
          {"largest", drift->largest ? position_json(*drift->largest) : json(nullptr)},
          {"benign_flips", flips},
          {"failure", drift->failure ? position_json(*drift->failure) : json(nullptr)},
          {"failure_kind", drift->failure_kind},
          {"points", points}};
}

std::optional<GoldenDrift> golden_drift_from_json(const json& details) {
  const auto it = details.find("golden_drift");
  if (it == details.end() || it->is_null()) return std::nullopt;
  const std::string at = "report details.golden_drift";
  if (!it->is_object()) throw Error(at + " must be an object");
  const json& o = *it;
  GoldenDrift d;
  d.tolerance = string_field(o, "tolerance", "", at);
  d.logprob_tolerance = number_field(o, "logprob_tolerance", 0.0, at);
  d.margin_tolerance = number_field(o, "margin_tolerance", 0.0, at);
  d.calibration = string_field(o, "calibration", "", at);
  d.positions = int_field(o, "positions", 0, at);
  d.exact = bool_field(o, "exact", false, at);
  if (o.contains("largest") && !o["largest"].is_null()) {
    d.largest = position_from_json(o["largest"], at + ".largest");
  }
  if (o.contains("failure") && !o["failure"].is_null()) {
    d.failure = position_from_json(o["failure"], at + ".failure");
  }
  d.failure_kind = string_field(o, "failure_kind", "", at);
  const json flips = o.value("benign_flips", json::array());
  if (!flips.is_array()) throw Error(at + ".benign_flips must be an array");
  for (const json& f : flips) d.benign_flips.push_back(position_from_json(f, at + ".benign_flips"));
  const json points = o.value("points", json::array());
  if (!points.is_array() || points.size() > GoldenDrift::kMaxPlotted) {
    throw Error(at + ".points must be an array of at most " +
                std::to_string(GoldenDrift::kMaxPlotted));
  }
  for (const json& p : points) {
    if (!p.is_array() || p.size() != 3 || !p[0].is_number() || !p[1].is_number() ||
        !p[2].is_boolean()) {
      throw Error(at + ".points must hold [margin, drift, passed] triples");
    }
    d.points.push_back({p[0].get<double>(), p[1].get<double>(), p[2].get<bool>()});
  }
  return d;
}

std::string drift_note(const GoldenDrift& d) {
  std::string note =
      "within tolerance " + d.tolerance + ": not bit for bit the golden; largest drift ";
  note += d.largest ? number(d.largest->drift) + " at " + where(*d.largest) : std::string("0");
  const size_t flips = d.benign_flips.size();
  return note + "; " + std::to_string(flips) + " benign flip" + (flips == 1 ? "" : "s") +
         " at near-ties";
}

std::string render_golden_drift(const GoldenDrift& d, const std::string& pad) {
  std::ostringstream out;
  out << pad << "teacher-forced against the golden, tolerance " << d.tolerance;
  if (!d.calibration.empty()) out << " (" << d.calibration << ")";
  out << ": " << d.positions << " positions, "
      << (d.exact ? "every token and logprob exact" : "not exact") << "\n";
  if (d.failure) {
    const Position& f = *d.failure;
    out << pad << "beyond tolerance first at " << where(f) << ": " << d.failure_kind
        << " (the golden's margin " << number(f.golden_margin) << ", its token's logprob moved "
        << number(f.drift) << ")\n";
  }
  if (d.largest && d.largest->drift > 0) {
    out << pad << "largest drift let through: " << number(d.largest->drift) << " at "
        << where(*d.largest) << " (golden margin " << number(d.largest->golden_margin) << ")\n";
  }
  if (!d.benign_flips.empty()) {
    out << pad << "benign flips (golden margin within " << number(d.margin_tolerance)
        << "): " << d.benign_flips.size();
    for (size_t i = 0; i < d.benign_flips.size() && i < 5; ++i) {
      const Position& p = d.benign_flips[i];
      out << (i ? "; " : " — ") << where(p) << " " << p.golden_token << " -> " << p.candidate_top1
          << " (margin " << number(p.golden_margin) << ")";
    }
    out << (d.benign_flips.size() > 5 ? "; ..." : "") << "\n";
  }
  return out.str();
}

}  // namespace detllm::internal
