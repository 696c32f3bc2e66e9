// Golden files: header (its calibration resolved as --tolerance auto does),
// env, op fingerprints, rows; what re-recording one over another would
// report; and its rows judged against themselves under a tolerance.
#include "artifacts/golden_drift.h"
#include "detllm_test/error.h"
#include "detllm_test/golden.h"
#include "detllm_test/tolerance.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const detllm::fuzz::MemoryFile file(std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const detllm::Golden golden = detllm::read_golden(file.path());
    (void)detllm::golden_changes(golden, golden);
    const detllm::Tolerance tolerance = detllm::resolve_auto(golden.calibration, file.path());
    (void)detllm::internal::measure_drift(golden.rows, golden.rows, tolerance, true);
  } catch (const detllm::Error&) {
  }
  return 0;
}
