// Internal: GPU facts for env.json straight from the CUDA runtime, driver and
// cuBLAS, which are opened with dlopen only when libtorch reports a CUDA
// device: a CPU-only user never loads them, and a binary built where the
// toolkit was still runs where it is absent.
#ifndef DETLLM_SRC_ENV_CUDA_FACTS_H_
#define DETLLM_SRC_ENV_CUDA_FACTS_H_

#include <nlohmann/json.hpp>

namespace detllm::internal {

// {"cuda": {...}, "cublas": {"version"}, "device": {...} or null}.
nlohmann::json cuda_facts(bool libtorch_has_cuda);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_ENV_CUDA_FACTS_H_
