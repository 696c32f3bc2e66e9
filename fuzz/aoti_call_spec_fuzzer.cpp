// An AOTInductor package's input spec (the pytree torch.export serializes),
// read from the input.
#include <string>

#include "aoti/call_spec.h"
#include "detllm_test/error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)detllm::internal::call_spec_input_count(
        std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const detllm::Error&) {
  }
  return 0;
}
