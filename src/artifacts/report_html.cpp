// report.html: the report for a person, self-contained (inline CSS and SVG, no
// script, no network): verdict, the first divergence with both token streams
// side by side, per-token logprob difference and logit margins, the first
// divergent op and the layer drift, the environment's likely causes, notes
// and controls.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "artifacts/golden_drift.h"
#include "detllm_test/report.h"

namespace detllm {
namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += (static_cast<unsigned char>(c) < 0x20 && c != '\n') ? std::string("\xC2\xB7")
                                                                   : std::string(1, c);
    }
  }
  return out;
}

std::string token_text(int64_t id, const Tokenizer* tokenizer) {
  if (!tokenizer) return std::to_string(id);
  std::string text;
  try {
    text = tokenizer->decode({id});
  } catch (...) {
    return std::to_string(id);
  }
  // A lone byte of a multi-byte character shows as its value, not as U+FFFD.
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80 && text.size() == 1) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "<%02X>", static_cast<unsigned char>(c));
      return hex;
    }
  }
  return text;
}

// One side's generated tokens, the divergent one marked.
void token_stream(std::ostringstream& out, const std::string& label, const TraceRow& row,
                  int divergent, const Tokenizer* tokenizer) {
  out << "<div class=stream><div class=label>" << escape(label) << "</div>";
  for (size_t t = 0; t < row.generated_token_ids.size(); ++t) {
    const int64_t id = row.generated_token_ids[t];
    out << "<span class=\"tok" << (static_cast<int>(t) == divergent ? " diverged" : "")
        << (static_cast<int>(t) > divergent && divergent >= 0 ? " after" : "") << "\" title=\"#"
        << t << " id " << id;
    if (row.scores && t < row.scores->size()) out << " logprob " << (*row.scores)[t];
    if (t < row.logit_margins.size()) out << " margin " << row.logit_margins[t];
    out << "\">" << escape(token_text(id, tokenizer)) << "</span>";
  }
  out << "</div>\n";
}

// A line plot of `values` (one per token) as inline SVG; `mark` is drawn red.
void plot(std::ostringstream& out, const std::string& title, const std::vector<double>& values,
          int mark, bool log_scale) {
  const double width = 640, height = 140, pad = 30;
  std::vector<double> y = values;
  if (log_scale) {
    for (double& v : y) v = std::log10(std::max(v, 1e-12));
  }
  double lo = 0, hi = 1;
  if (!y.empty()) {
    lo = *std::min_element(y.begin(), y.end());
    hi = *std::max_element(y.begin(), y.end());
  }
  if (hi - lo < 1e-12) hi = lo + 1;
  auto px = [&](size_t i) {
    return pad + (width - 2 * pad) * (y.size() > 1 ? double(i) / double(y.size() - 1) : 0.5);
  };
  auto py = [&](double v) { return height - pad - (height - 2 * pad) * (v - lo) / (hi - lo); };
  out << "<figure><figcaption>" << escape(title) << "</figcaption><svg width=" << width
      << " height=" << height << " viewBox=\"0 0 " << width << " " << height << "\">"
      << "<rect x=0 y=0 width=" << width << " height=" << height << " fill=\"#fafafa\"/>"
      << "<line x1=" << pad << " y1=" << height - pad << " x2=" << width - pad
      << " y2=" << height - pad << " stroke=\"#999\"/>";
  out << "<polyline fill=none stroke=\"#2a6\" stroke-width=2 points=\"";
  for (size_t i = 0; i < y.size(); ++i) out << px(i) << "," << py(y[i]) << " ";
  out << "\"/>";
  if (mark >= 0 && mark < static_cast<int>(y.size())) {
    out << "<circle cx=" << px(mark) << " cy=" << py(y[mark]) << " r=5 fill=\"#d22\"/>";
  }
  out.precision(3);
  out << "<text x=2 y=" << pad - 8 << " font-size=11>" << (log_scale ? "10^" : "") << hi
      << "</text><text x=2 y=" << height - 6 << " font-size=11>" << (log_scale ? "10^" : "") << lo
      << "</text></svg></figure>\n";
}

// The layer drift as bars on a log scale, one per layer in order, labelled;
// an exact 0 is drawn as an empty slot marked "0".
void drift_plot(std::ostringstream& out, const LayerDrift& layer_drift) {
  const std::vector<LayerDrift::Layer>& drift = layer_drift.layers;
  const double width = 640, height = 170, pad = 34, bottom = 52;
  double lo = 0, hi = -12;
  bool any = false;
  for (const LayerDrift::Layer& d : drift) {
    if (d.max_abs_diff <= 0) continue;
    const double v = std::log10(d.max_abs_diff);
    lo = any ? std::min(lo, v) : v;
    hi = any ? std::max(hi, v) : v;
    any = true;
  }
  lo = std::floor(lo) - 1;  // the smallest nonzero drift still gets a bar
  hi = std::max(std::ceil(hi), lo + 1);
  const double slot = (width - 2 * pad) / static_cast<double>(std::max<size_t>(drift.size(), 1));
  out << "<figure><figcaption>hidden-state drift after each layer at token "
      << layer_drift.token_index
      << ": max |Δ| between the two sides (log scale)</figcaption><svg width=" << width
      << " height=" << height << " viewBox=\"0 0 " << width << " " << height << "\">"
      << "<rect x=0 y=0 width=" << width << " height=" << height << " fill=\"#fafafa\"/>"
      << "<line x1=" << pad << " y1=" << height - bottom << " x2=" << width - pad
      << " y2=" << height - bottom << " stroke=\"#999\"/>";
  out.precision(3);
  for (size_t i = 0; i < drift.size(); ++i) {
    const double x = pad + slot * static_cast<double>(i);
    const double cx = x + slot / 2;
    if (drift[i].max_abs_diff > 0) {
      const double v = std::log10(drift[i].max_abs_diff);
      const double h = (height - bottom - 12) * (v - lo) / (hi - lo);
      out << "<rect x=" << x + slot * 0.15 << " y=" << height - bottom - h
          << " width=" << slot * 0.7 << " height=" << h << " fill=\"#d55\"><title>"
          << escape(drift[i].name) << ": " << drift[i].max_abs_diff << " (" << drift[i].max_ulps
          << " ULP)</title></rect>";
    } else {
      out << "<text x=" << cx << " y=" << height - bottom - 4
          << " font-size=11 text-anchor=middle fill=\"#1a7f37\">0</text>";
    }
    out << "<text x=" << cx << " y=" << height - bottom + 14 << " font-size=10 "
        << "text-anchor=end transform=\"rotate(-35 " << cx << " " << height - bottom + 14 << ")\">"
        << escape(drift[i].name) << "</text>";
  }
  out << "<text x=2 y=14 font-size=11>10^" << hi << "</text><text x=2 y=" << height - bottom
      << " font-size=11>10^" << lo << "</text></svg></figure>\n";
}

// A golden compared with a tolerance: each position's drift against the
// golden's margin there (both log scales), the tolerance's two lines, the
// failing positions in red — a flip left of the margin line is benign.
void margin_plot(std::ostringstream& out, const GoldenDrift& g) {
  const double width = 640, height = 260, pad = 46;
  const auto log_of = [](double v) { return std::log10(std::max(v, 1e-12)); };
  double x_lo = 0, x_hi = 1, y_lo = -9, y_hi = -1;
  bool any = false;
  for (const GoldenDrift::Point& p : g.points) {
    if (p.margin <= 0) continue;
    x_lo = any ? std::min(x_lo, log_of(p.margin)) : log_of(p.margin);
    x_hi = any ? std::max(x_hi, log_of(p.margin)) : log_of(p.margin);
    if (p.drift > 0) y_hi = std::max(y_hi, log_of(p.drift));
    any = true;
  }
  for (const double t : {g.margin_tolerance, g.logprob_tolerance}) {
    if (t > 0) x_lo = std::min(x_lo, log_of(t)), y_hi = std::max(y_hi, log_of(t) + 1);
  }
  x_lo = std::floor(x_lo), x_hi = std::max(std::ceil(x_hi), x_lo + 1), y_hi = std::ceil(y_hi);
  const auto X = [&](double v) {
    return pad + (width - 2 * pad) * (log_of(v) - x_lo) / (x_hi - x_lo);
  };
  const auto Y = [&](double v) {
    const double clamped = std::max(log_of(v), y_lo);
    return height - pad - (height - 2 * pad) * (clamped - y_lo) / (y_hi - y_lo);
  };
  out << "<figure><figcaption>drift of the golden token's logprob against the golden's margin, "
         "per position (log scales; red: beyond tolerance; drift 0 on the bottom line)"
         "</figcaption><svg width="
      << width << " height=" << height << " viewBox=\"0 0 " << width << " " << height << "\">"
      << "<rect x=0 y=0 width=" << width << " height=" << height << " fill=\"#fafafa\"/>";
  out.precision(3);
  if (g.logprob_tolerance > 0) {
    out << "<line x1=" << pad << " x2=" << width - pad << " y1=" << Y(g.logprob_tolerance)
        << " y2=" << Y(g.logprob_tolerance) << " stroke=\"#c22\" stroke-dasharray=\"4\"/>"
        << "<text x=" << width - pad << " y=" << Y(g.logprob_tolerance) - 4
        << " font-size=10 text-anchor=end>logprob tolerance " << g.logprob_tolerance << "</text>";
  }
  if (g.margin_tolerance > 0) {
    out << "<line y1=" << pad << " y2=" << height - pad << " x1=" << X(g.margin_tolerance)
        << " x2=" << X(g.margin_tolerance) << " stroke=\"#999\" stroke-dasharray=\"4\"/>";
  }
  for (const GoldenDrift::Point& p : g.points) {
    if (p.margin <= 0) continue;
    out << "<circle cx=" << X(p.margin) << " cy=" << Y(p.drift) << " r=3 fill=\""
        << (p.passed ? "#1a7f37" : "#c22") << "\"><title>margin " << p.margin << ", drift "
        << p.drift << "</title></circle>";
  }
  out << "<text x=" << pad << " y=" << height - 8 << " font-size=11>golden margin 10^" << x_lo
      << " … 10^" << x_hi << "</text><text x=2 y=14 font-size=11>drift 10^" << y_hi
      << "</text><text x=2 y=" << height - pad << " font-size=11>10^" << y_lo
      << "</text></svg></figure>\n";
}

}  // namespace

std::string render_html(const Report& r, const TraceRow* left, const TraceRow* right,
                        const Tokenizer* tokenizer) {
  std::ostringstream out;
  out << "<!doctype html><html><head><meta charset=utf-8><title>detllm report: "
      << escape(to_string(r.category)) << "</title><style>"
      << "body{font:14px system-ui,sans-serif;margin:24px;max-width:960px;color:#222}"
      << "h1{font-size:20px}.PASS{color:#1a7f37}.FAIL{color:#c22}"
      << ".stream{font-family:monospace;margin:6px 0;line-height:1.9}"
      << ".label{font-weight:bold;margin-bottom:2px}"
      << ".tok{border:1px solid #ccc;border-radius:3px;padding:1px 3px;margin:1px;"
      << "white-space:pre;background:#f4f4f4}.tok.diverged{background:#fdd;border-color:#c22;"
      << "font-weight:bold}.tok.after{opacity:.55}table{border-collapse:collapse}"
      << "td{border-bottom:1px solid #eee;padding:3px 8px;vertical-align:top}"
      << "code{background:#f4f4f4;padding:1px 4px}pre{white-space:pre-wrap}</style></head><body>\n";
  out << "<h1 class=" << (r.passed ? "PASS" : "FAIL") << ">" << escape(r.headline()) << "</h1>\n";
  out << "<table><tr><td>model</td><td><code>" << escape(r.model) << "</code></td></tr>"
      << "<tr><td>tier</td><td>" << r.tier_requested << " requested, " << r.tier_effective
      << " effective (" << escape(r.mode) << ")</td></tr>";
  if (!r.golden.empty()) {
    out << "<tr><td>golden</td><td><code>" << escape(r.golden) << "</code></td></tr>";
  }
  out << "<tr><td>controls</td><td><code>" << escape(r.controls) << "</code></td></tr></table>\n";
  const std::optional<Divergence>& d = r.first_found();
  if (d) {
    out << "<h2>First divergence (" << escape(to_string(d->category)) << ")</h2><pre>"
        << escape(render_divergence_text(*d, 0)) << "</pre>\n";
  }
  if (r.expert_routing) {
    out << "<h2>Expert routing</h2><p><code>" << escape(render_expert_routing(*r.expert_routing))
        << "</code></p>\n";
  }
  if (r.first_divergent_op) {
    out << "<h2>First divergent op</h2><p><code>"
        << escape(render_op_divergence(*r.first_divergent_op)) << "</code></p>\n";
  }
  if (r.golden_drift) {
    out << "<h2>Against the golden, tolerance " << escape(r.golden_drift->tolerance) << "</h2><pre>"
        << escape(internal::render_golden_drift(*r.golden_drift, "")) << "</pre>";
    margin_plot(out, *r.golden_drift);
  }
  if (r.layer_drift) {
    out << "<h2>Layer drift</h2>";
    drift_plot(out, *r.layer_drift);
  }
  if (d && left && right) {
    out << "<h2>Token streams</h2>";
    token_stream(out, d->left_label, *left, d->token_index, tokenizer);
    token_stream(out, d->right_label, *right, d->token_index, tokenizer);
    if (left->scores && right->scores) {
      std::vector<double> delta;
      for (size_t t = 0; t < std::min(left->scores->size(), right->scores->size()); ++t) {
        delta.push_back(std::fabs((*left->scores)[t] - (*right->scores)[t]));
      }
      plot(out, "|logprob difference| per generated token (log scale)", delta, d->token_index,
           true);
    }
    if (!left->logit_margins.empty()) {
      plot(out,
           "top-1 minus top-2 logit margin, " + d->left_label +
               " (near-ties are where noise flips the choice)",
           left->logit_margins, d->token_index, false);
    }
  }
  if (!r.env_differences.empty() || !r.likely_causes.empty()) {
    out << "<h2>Environment</h2><p>fields that differ:";
    for (const std::string& f : r.env_differences) out << " <code>" << escape(f) << "</code>";
    out << "</p><ul>";
    for (const std::string& c : r.likely_causes) out << "<li>" << escape(c) << "</li>";
    out << "</ul>\n";
  }
  if (!r.not_exercised.empty()) {
    out << "<h2>Not exercised</h2><ul>";
    for (const std::string& n : r.not_exercised) out << "<li>" << escape(n) << "</li>";
    out << "</ul>\n";
  }
  if (!r.needle_distinct_completions.empty()) {
    out << "<h2>Needle trials</h2><p>distinct completions per prompt (run 0 and " << r.needle_trials
        << " trials):";
    for (const int n : r.needle_distinct_completions) out << " " << n;
    out << "</p><ul>";
    for (const auto& p : r.needle_divergence_positions) {
      out << "<li>first left run 0 at generated token " << p.token_index << ": " << p.trials
          << (p.trials == 1 ? " trial" : " trials") << "</li>";
    }
    out << "</ul>\n";
  }
  if (!r.notes.empty()) {
    out << "<h2>Notes</h2><ul>";
    for (const std::string& n : r.notes) out << "<li>" << escape(n) << "</li>";
    out << "</ul>\n";
  }
  if (!r.pack_dir.empty()) out << "<p>repro pack: <code>" << escape(r.pack_dir) << "</code></p>";
  out << "</body></html>\n";
  return out.str();
}

}  // namespace detllm
