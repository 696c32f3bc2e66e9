// A server's /metrics (Prometheus text), read from the input: every sample,
// its step counters (llama.cpp's or vLLM's), and the busy slots between two readings.
#include <string_view>

#include "serving/server_metrics.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto counters = detllm::internal::decode_counters(detllm::internal::parse_metrics(text));
  if (counters) (void)detllm::internal::busy_slots_between({0, 0}, *counters);
  return 0;
}
