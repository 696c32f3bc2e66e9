// A server's /metrics (Prometheus text) read into numbers, and llama.cpp's
// decode counters into the concurrency it ran a batch at.
#include "serving/server_metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace detllm::internal {

std::map<std::string, double> parse_metrics(std::string_view text) {
  std::map<std::string, double> samples;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t space = line.find(' ');
    if (line.empty() || line.front() == '#' || space == std::string_view::npos ||
        line.substr(0, space).find('{') != std::string_view::npos) {
      continue;
    }
    std::string_view value = line.substr(space + 1);
    value = value.substr(0, value.find(' '));  // a timestamp may follow
    double number = 0;
    const auto [rest, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (error == std::errc() && rest == value.data() + value.size() && std::isfinite(number)) {
      samples[std::string(line.substr(0, space))] = number;
    }
  }
  return samples;
}

std::optional<DecodeCounters> llama_cpp_decode_counters(
    const std::map<std::string, double>& metrics) {
  const auto decodes = metrics.find("llamacpp:n_decode_total");
  const auto average = metrics.find("llamacpp:n_busy_slots_per_decode");
  if (decodes == metrics.end() || average == metrics.end() || decodes->second < 0 ||
      average->second < 0) {
    return std::nullopt;
  }
  return DecodeCounters{decodes->second, decodes->second * average->second};
}

std::optional<double> busy_slots_between(const DecodeCounters& before,
                                         const DecodeCounters& after) {
  const double decodes = after.decodes - before.decodes;
  if (!(decodes > 0)) return std::nullopt;
  return std::max(0.0, (after.busy_slots - before.busy_slots) / decodes);
}

}  // namespace detllm::internal
