// Environment capture: what the run depended on, and its fingerprint.
#ifndef DETLLM_TEST_ENV_H_
#define DETLLM_TEST_ENV_H_

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace detllm {

// Which environment variable values to hide. With `redact` on (the default), a
// variable whose name contains TOKEN, SECRET, KEY, PASSWORD or CREDENTIAL (any
// case) is written as "<redacted>"; `redact_vars` names more.
struct EnvOptions {
  bool redact = true;
  std::vector<std::string> redact_vars;
};

// True if `name`'s value would be redacted under `options`.
bool is_redacted(const std::string& name, const EnvOptions& options);

// The env_snapshot artifact (schema 1.0): platform, compiler, CPU, libtorch and
// its runtime settings, CUDA, the determinism-relevant environment variables
// (CUDA_*, CUBLAS_*, NVIDIA_*, TORCH_*, OMP_*, MKL_* ...), and `fingerprint`,
// the SHA-256 of the canonical JSON of everything else. Two runs whose
// fingerprints differ ran in different environments (ENV_MISMATCH).
nlohmann::json capture_env(const EnvOptions& options = {});

// SHA-256 hex of the canonical (sorted, compact) JSON of `snapshot` without its
// "fingerprint" field.
std::string env_fingerprint(const nlohmann::json& snapshot);

// The dotted paths of the fields that differ between two snapshots (e.g.
// "env_vars.OMP_NUM_THREADS", "torch.runtime.num_threads"), fingerprint aside.
std::vector<std::string> env_differences(const nlohmann::json& left, const nlohmann::json& right);

}  // namespace detllm

#endif  // DETLLM_TEST_ENV_H_
