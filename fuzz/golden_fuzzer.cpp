// Golden files: header, env, op fingerprints, rows; and what re-recording
// one over another would report.
#include "detllm_test/error.h"
#include "detllm_test/golden.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const detllm::fuzz::MemoryFile file(std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const detllm::Golden golden = detllm::read_golden(file.path());
    (void)detllm::golden_changes(golden, golden);
  } catch (const detllm::Error&) {
  }
  return 0;
}
