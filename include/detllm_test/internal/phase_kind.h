// detllm::core — internal: the kinds of comparison a check makes, named once
// for the assertions' macros (assertions.h) and the check's phases; what each
// compares, fills and claims is in the comparison table (src/check/comparisons.cpp).
#ifndef DETLLM_TEST_INTERNAL_PHASE_KIND_H_
#define DETLLM_TEST_INTERNAL_PHASE_KIND_H_

namespace detllm::internal {

enum class PhaseKind {
  kRun,        // the runs at the baseline batch size, each compared with run 0
  kBatchSize,  // one run at each other batch size
  kThreads,    // one run at each other intra-op thread count
  kPrefill,    // run 0 rescored in one forward pass per prompt
  kNeedle,     // each prompt alone among fillers in a batch of random size
  kGolden,     // the golden file's rows, against which run 0 is compared
};

}  // namespace detllm::internal

#endif  // DETLLM_TEST_INTERNAL_PHASE_KIND_H_
