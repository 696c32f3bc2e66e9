// Internal: the determinism controls, each declared once. The scope applies,
// reads back and restores them by looping over this table; the environment
// snapshot records them from it (so ENV_MISMATCH sees every one of them).
// Differences between libtorch versions live in control_table.cpp only.
#ifndef DETLLM_SRC_CONTROLS_CONTROL_TABLE_H_
#define DETLLM_SRC_CONTROLS_CONTROL_TABLE_H_

#include <string>
#include <vector>

#include "detllm_test/determinism.h"

namespace detllm::internal {

// One process-wide switch or environment variable that changes numerics.
struct Control {
  const char* name;   // as written in determinism_applied.json and env.json
  const char* group;  // "torch": libtorch's switches; "env": process environment
  bool cuda_only;     // only CUDA devices read it
  // The value in force, as text ("on", "off", "highest", ":4096:8", "(unset)").
  std::string (*read)();
  // Sets a value read() returned or wanted() asked for; nullptr: only checked.
  void (*write)(const std::string& value);
  // The value the harness wants for these options; "" leaves it as it is.
  std::string (*wanted)(const DeterminismOptions& options);
  // Why the value in force does not give the guarantee, or "" when it does;
  // nullptr: it does exactly when read() == wanted().
  std::string (*problem)(const std::string& previous, const std::string& effective,
                         const std::string& wanted, bool on_cuda);
  const char* note;  // what it does, for determinism_applied.json
};

// The scaled-dot-product-attention backends DeterminismOptions::sdpa_backends
// may name, in the order of their controls (sdpa_<name>).
inline constexpr const char* kSdpaBackends[] = {"math", "flash", "mem_efficient", "cudnn"};

// Every control this libtorch build has, in the order they are applied
// (CUBLAS_WORKSPACE_CONFIG first: it must precede the first cuBLAS handle).
const std::vector<Control>& controls();

// True if a CUDA context already exists, so cuBLAS handles may exist too.
bool cuda_already_initialised();

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CONTROLS_CONTROL_TABLE_H_
