// Internal: the CPU facts that change CPU results, for env.json: the BLAS
// behind libtorch (netlib, OpenBLAS and its core type, MKL, BLIS) and the
// CPU's vector ISA.
#ifndef DETLLM_SRC_ENV_CPU_FACTS_H_
#define DETLLM_SRC_ENV_CPU_FACTS_H_

#include <nlohmann/json.hpp>

namespace detllm::internal {

// {"library": resolved path of the loaded BLAS, "vendor": "OpenBLAS" | "MKL" |
//  "BLIS" | "netlib" | "unknown", and for OpenBLAS "config" and "core"}.
nlohmann::json blas_facts();

// {"model": ..., "logical_cores": ..., "isa": ["avx2", "avx512f", "fma", ...]}.
nlohmann::json cpu_facts();

}  // namespace detllm::internal

#endif  // DETLLM_SRC_ENV_CPU_FACTS_H_
