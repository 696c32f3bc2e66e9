// A server's /v1/completions response body, read from the input (both
// logprobs layouts, with and without logprobs asked for).
#include <string>

#include "detllm_test/error.h"
#include "fuzz_input.h"
#include "serving/completion_response.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  for (const bool want_logprobs : {true, false}) {
    try {
      (void)detllm::internal::parse_completion(body, "fuzz", want_logprobs);
    } catch (const detllm::Error&) {
    }
  }
  return 0;
}
