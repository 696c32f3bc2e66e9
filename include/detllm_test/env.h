// detllm::core — environment capture: what the run depended on, and its
// fingerprint.
#ifndef DETLLM_TEST_ENV_H_
#define DETLLM_TEST_ENV_H_

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "detllm_test/env_snapshot.h"
#include "detllm_test/generator.h"

namespace detllm {

// Which environment variable values to hide. With `redact` on (the default), a
// variable whose name contains TOKEN, SECRET, KEY, PASSWORD, PASSWD, PWD,
// CREDENTIAL, AUTH, BEARER, PRIVATE, SESSION, COOKIE or SIGNATURE (any case) is
// written as "<redacted>", and so is any value that looks like a secret: a
// known token shape (hf_..., ghp_..., github_pat_..., sk-..., AKIA..., a JWT)
// or a long high-entropy string; a URL's user:password@ part is replaced by
// "<redacted>@". `redact_vars` names more variables.
struct EnvOptions {
  bool redact = true;
  std::vector<std::string> redact_vars;
};

// True if `name`'s value would be redacted under `options`, whatever it is.
bool is_redacted(const std::string& name, const EnvOptions& options);

// `value` of variable `name` as the snapshot writes it under `options`.
std::string redacted_value(const std::string& name, const std::string& value,
                           const EnvOptions& options);

// The env_snapshot artifact (schema 1.0): platform, compiler, CPU and its vector
// ISA, the BLAS behind libtorch, libtorch and every determinism control's
// value (torch.runtime), CUDA, cuBLAS and the GPU, the determinism-relevant environment variables
// (CUDA_*, CUBLAS_*, NVIDIA_*, TORCH_*, OMP_*, MKL_* ...), and `fingerprint`,
// the SHA-256 of the canonical JSON of everything else. Two runs whose
// fingerprints differ ran in different environments (ENV_MISMATCH).
nlohmann::json capture_env(const EnvOptions& options = {});

// The snapshot of where `model` ran: capture_env()'s, and for a model served
// elsewhere (ModelInfo::server_url) `inference`: {remote: true, server_url,
// and what the server says about itself (kind, version or props, models)},
// in the fingerprint, so that a server that changes between runs or since a
// golden is seen. A model in this process adds nothing.
nlohmann::json capture_env(const ModelInfo& model, const EnvOptions& options = {});

}  // namespace detllm

#endif  // DETLLM_TEST_ENV_H_
