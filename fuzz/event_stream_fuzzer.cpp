// A server's streamed answer (server-sent events), read from the input: the
// chunks merged into one response, which is then parsed as any other.
#include <string>

#include "detllm_test/error.h"
#include "fuzz_input.h"
#include "serving/completion_response.h"
#include "serving/event_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  try {
    const std::string merged = detllm::internal::merge_event_stream(body, "fuzz");
    (void)detllm::internal::parse_completion(merged, "fuzz", true);
  } catch (const detllm::Error&) {
  }
  return 0;
}
