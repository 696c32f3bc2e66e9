// The safetensors header: length, JSON, every entry's dtype, shape and range.
#include <sstream>

#include "detllm_test/error.h"
#include "safetensors/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const auto header = detllm::internal::read_safetensors_header(in, size, "fuzz input");
    for (const auto& [name, entry] : header.entries) {
      for (const int64_t n : entry.shape) {
        if (n < 0) __builtin_trap();  // a size libtorch would refuse
      }
    }
  } catch (const detllm::Error&) {
  }
  return 0;
}
