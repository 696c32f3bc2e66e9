// detllm::artifacts — comparing environment snapshots (env.json): the
// fingerprint, the fields that differ, and what a difference likely means.
#ifndef DETLLM_TEST_ENV_SNAPSHOT_H_
#define DETLLM_TEST_ENV_SNAPSHOT_H_

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace detllm {

// SHA-256 hex of the canonical (sorted, compact) JSON of `snapshot` without its
// "fingerprint" field. Two runs whose fingerprints differ ran in different
// environments (ENV_MISMATCH).
std::string env_fingerprint(const nlohmann::json& snapshot);

// The dotted paths of the fields that differ between two snapshots (e.g.
// "env_vars.OMP_NUM_THREADS", "torch.runtime.num_threads"), fingerprint aside,
// in the snapshots' (sorted) key order.
std::vector<std::string> env_differences(const nlohmann::json& left, const nlohmann::json& right);

// The differences that change numerics, each as a sentence naming both values,
// most likely cause first: libtorch, CUDA runtime and driver, cuBLAS, cuDNN,
// GPU, BLAS library and its core, CPU and its vector ISA, thread counts,
// determinism controls, numerics-relevant environment variables. E.g.
//   "BLAS: libblas.so.3.11.0 (netlib) -> libopenblasp-r0.3.21.so (OpenBLAS, Haswell)".
std::vector<std::string> env_likely_causes(const nlohmann::json& left, const nlohmann::json& right);

}  // namespace detllm

#endif  // DETLLM_TEST_ENV_SNAPSHOT_H_
