// Internal: a server's own account of how it ran a batch, from its Prometheus
// /metrics. llama.cpp counts its decode steps and the slots busy in each: read
// before and after a batch, they give the concurrency the server really ran,
// so that a check never claims a batch the server ran one request at a time.
#ifndef DETLLM_SRC_SERVING_SERVER_METRICS_H_
#define DETLLM_SRC_SERVING_SERVER_METRICS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace detllm::internal {

// The samples without labels of a Prometheus text exposition: "name value"
// lines; comments, labelled samples and lines that are neither are skipped.
std::map<std::string, double> parse_metrics(std::string_view text);

// llama.cpp's decode counters: llama_decode() calls, and the busy slots
// summed over them (its gauge is their running average).
struct DecodeCounters {
  double decodes = 0;
  double busy_slots = 0;
};
std::optional<DecodeCounters> llama_cpp_decode_counters(
    const std::map<std::string, double>& metrics);

// The average busy slots per decode step between two readings; nullopt when
// the server decoded nothing in between.
std::optional<double> busy_slots_between(const DecodeCounters& before, const DecodeCounters& after);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_SERVING_SERVER_METRICS_H_
