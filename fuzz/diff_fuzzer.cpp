// The streaming diff of two trace files (left NUL right), at tier 1 and 2.
#include <nlohmann/json.hpp>

#include "detllm_test/diff.h"
#include "detllm_test/error.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = detllm::fuzz::split_input(data, size, 2);
  const detllm::fuzz::MemoryFile left(parts[0]), right(parts[1]);
  for (const bool scores : {false, true}) {
    try {
      detllm::DiffOptions options;
      options.compare_scores = scores;
      const detllm::DiffResult result =
          detllm::diff_trace_files(left.path(), right.path(), options);
      if (result.divergence) (void)detllm::to_json(*result.divergence).dump();
    } catch (const detllm::Error&) {
    }
  }
  return 0;
}
