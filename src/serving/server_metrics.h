// Internal: a server's own account of how it ran a batch, from its Prometheus
// /metrics. llama.cpp counts its decode steps and the slots busy in each, vLLM
// its engine steps and the tokens it generated: read before and after a batch,
// either gives the concurrency the server really ran, so that a check never
// claims a batch the server ran one request at a time.
#ifndef DETLLM_SRC_SERVING_SERVER_METRICS_H_
#define DETLLM_SRC_SERVING_SERVER_METRICS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace detllm::internal {

// The samples of a Prometheus text exposition by metric name, the samples of
// one name summed over their labels (vLLM labels each by engine and model).
// Comments, histogram buckets' labels, and lines that are not samples are
// skipped, never an error.
std::map<std::string, double> parse_metrics(std::string_view text);

// Steps the server ran and the requests busy summed over them: llama.cpp's
// llama_decode() calls and busy slots (its gauge is their running average), or
// vLLM's engine steps and the tokens they generated (one per running request).
struct DecodeCounters {
  double decodes = 0;
  double busy_slots = 0;
  const char* source = "";  // the counters read, for run_config.json
};
std::optional<DecodeCounters> decode_counters(const std::map<std::string, double>& metrics);

// The average busy slots per decode step between two readings; nullopt when
// the server decoded nothing in between.
std::optional<double> busy_slots_between(const DecodeCounters& before, const DecodeCounters& after);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_SERVING_SERVER_METRICS_H_
