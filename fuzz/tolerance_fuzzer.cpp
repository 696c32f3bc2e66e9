// --tolerance's text: parsed, printed and parsed back to the same numbers.
#include <cstdlib>
#include <string>

#include "detllm_test/error.h"
#include "detllm_test/tolerance.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const detllm::Tolerance t = detllm::Tolerance::parse(text);
    const detllm::Tolerance back = detllm::Tolerance::parse(t.to_string());
    if (back.logprob != t.logprob || back.margin != t.margin) std::abort();
  } catch (const detllm::Error&) {
  }
  return 0;
}
