// A server's /metrics (Prometheus text) read into numbers, and its step
// counters into the concurrency it ran a batch at.
#include "serving/server_metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace detllm::internal {
namespace {

// The end of a sample's label set `{...}` that starts text, quotes and their
// escapes honoured; npos when it does not close.
size_t label_set_end(std::string_view text) {
  bool quoted = false;
  for (size_t i = 1; i < text.size(); ++i) {
    if (quoted && text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && text[i] == '}') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

std::map<std::string, double> parse_metrics(std::string_view text) {
  std::map<std::string, double> samples;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const size_t name_end = line.find_first_of("{ ");
    if (name_end == 0 || name_end == std::string_view::npos) continue;
    std::string_view rest = line.substr(name_end);
    if (rest.front() == '{') {
      const size_t labels = label_set_end(rest);
      if (labels == std::string_view::npos) continue;
      rest = rest.substr(labels);
    }
    if (rest.empty() || rest.front() != ' ') continue;
    std::string_view value = rest.substr(1);
    value = value.substr(0, value.find(' '));  // a timestamp may follow
    double number = 0;
    const auto [stop, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (error == std::errc() && stop == value.data() + value.size() && std::isfinite(number)) {
      samples[std::string(line.substr(0, name_end))] += number;
    }
  }
  return samples;
}

std::optional<DecodeCounters> decode_counters(const std::map<std::string, double>& metrics) {
  const auto value = [&](const char* name) -> std::optional<double> {
    const auto found = metrics.find(name);
    if (found == metrics.end() || found->second < 0) return std::nullopt;
    return found->second;
  };
  const auto decodes = value("llamacpp:n_decode_total");
  const auto average = value("llamacpp:n_busy_slots_per_decode");
  if (decodes && average) {
    return DecodeCounters{*decodes, *decodes * *average,
                          "llamacpp:n_decode_total and llamacpp:n_busy_slots_per_decode (busy "
                          "slots per decode step)"};
  }
  const auto steps = value("vllm:iteration_tokens_total_count");
  const auto generated = value("vllm:generation_tokens_total");
  if (steps && generated) {
    return DecodeCounters{*steps, *generated,
                          "vllm:iteration_tokens_total_count and vllm:generation_tokens_total "
                          "(tokens generated per engine step: one per running request)"};
  }
  return std::nullopt;
}

std::optional<double> busy_slots_between(const DecodeCounters& before,
                                         const DecodeCounters& after) {
  const double decodes = after.decodes - before.decodes;
  if (!(decodes > 0)) return std::nullopt;
  return std::max(0.0, (after.busy_slots - before.busy_slots) / decodes);
}

}  // namespace detllm::internal
