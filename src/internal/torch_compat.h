// Internal: differences between libtorch 1.13 and 2.x, in one place.
#ifndef DETLLM_SRC_INTERNAL_TORCH_COMPAT_H_
#define DETLLM_SRC_INTERNAL_TORCH_COMPAT_H_

#include <ATen/Context.h>
#include <torch/version.h>

#include <type_traits>
#include <utility>

namespace detllm::internal {

// libtorch 1.13 reports cuBLAS reduced-precision reductions as a bool; newer
// 2.x versions as a CuBLASReductionOption that also says whether split-K is
// allowed. These read and restore either without naming a version.
using Fp16ReductionOption = decltype(std::declval<at::Context&>().allowFP16ReductionCuBLAS());
#if TORCH_VERSION_MAJOR >= 2
using Bf16ReductionOption = decltype(std::declval<at::Context&>().allowBF16ReductionCuBLAS());
#endif

template <typename Option>
bool reduction_allowed(Option option) {
  if constexpr (std::is_same_v<Option, bool>) {
    return option;
  } else {
    return option == Option::AllowReducedPrecisionWithSplitK;
  }
}

// Calls set(allow_reduced_precision) or set(allow_reduced_precision, allow_split_k),
// whichever the libtorch version takes, to bring back `option`.
template <typename Option, typename Setter>
void restore_reduction(Option option, Setter set) {
  if constexpr (std::is_same_v<Option, bool>) {
    set(option);
  } else {
    set(option == Option::AllowReducedPrecisionWithSplitK,
        option != Option::DisallowReducedPrecisionDisallowSplitK);
  }
}

}  // namespace detllm::internal

#endif  // DETLLM_SRC_INTERNAL_TORCH_COMPAT_H_
