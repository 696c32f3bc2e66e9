// detllm::core — determinism controls: what the harness sets, in a scope that records what it
// applied and restores the previous global state on exit; and capability gating
// of the guarantee tiers.
#ifndef DETLLM_TEST_DETERMINISM_H_
#define DETLLM_TEST_DETERMINISM_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "detllm_test/generator.h"

namespace detllm {

// What happens when a requested guarantee cannot be enforced: `kStrict` fails
// the check as UNSUPPORTED_REQUEST; `kBestEffort` lowers the tier and records
// the downgrade and its reason.
enum class Mode { kStrict, kBestEffort };
std::string to_string(Mode mode);
Mode mode_from_string(const std::string& name);  // "strict" | "best-effort"

// Guarantee tiers. 0: artifacts only (nothing is asserted). 1: the same tokens
// on every run at a fixed batch size. 2: tier 1 plus bitwise-equal logprobs.
inline constexpr int kMaxTier = 2;

// What to ask for.
struct DeterminismOptions {
  int tier = 1;
  Mode mode = Mode::kBestEffort;
  // Seeds libtorch's global generators (CPU and every CUDA device) once, when
  // the scope opens. Runs are *not* reseeded one by one, as a server does not
  // reseed between requests: a model that draws from the global generator
  // (dropout left on, say) shows as run variance. nullopt leaves them alone.
  std::optional<uint64_t> seed = 0;
  // Intra-op CPU threads; reductions can round differently with another count.
  // 0 leaves the count as it is.
  int threads = 1;
  // Deterministic algorithms in warn-only mode: an op without a deterministic
  // kernel warns instead of throwing.
  bool warn_only = false;
  // Turn a control off on purpose, to measure what it buys (negative controls,
  // "TF32 on vs off"). The record says so; the tier is still claimed, since the
  // caller asked for exactly this setting.
  bool deterministic_algorithms = true;
  bool allow_tf32 = false;
  // cuBLAS may split a float16/bfloat16 GEMM's K dimension across blocks
  // (split-K), and chooses to by the matrix shape, so by the batch size: a main
  // source of batch variance on GPUs. Allowed by default, as libtorch does;
  // false disallows it (libtorch 2.x; 1.13 cannot, and the record says so).
  bool cublas_split_k = true;
  // The scaled_dot_product_attention backends to allow, of "math", "flash",
  // "mem_efficient" and "cudnn"; the others are disabled for the scope. Empty
  // leaves libtorch's choice as it is. Recorded either way (libtorch 2.x).
  std::vector<std::string> sdpa_backends;
};

// One control as the scope found and left it. Values are read back after they
// are set, so `effective` is what libtorch reports, not what was asked for.
struct AppliedControl {
  std::string group;  // "seed", "torch" or "env"
  std::string name;   // e.g. "deterministic_algorithms", "CUBLAS_WORKSPACE_CONFIG"
  std::string requested;
  std::string effective;
  std::string previous;
  bool honoured = true;  // effective == requested and in force in time
  std::string note;
};

// A tier that was lowered in best-effort mode, and why.
struct Downgrade {
  int from = 0;
  int to = 0;
  std::string reason;
};

// Everything determinism_applied.json says.
struct DeterminismRecord {
  int tier_requested = 1;
  int tier_effective = 1;
  Mode mode = Mode::kBestEffort;
  std::optional<uint64_t> seed;
  int threads = 0;
  std::vector<AppliedControl> controls;
  std::vector<Downgrade> downgrades;
  std::vector<std::string> warnings;
  std::vector<std::string> capability_failures;  // non-empty: UNSUPPORTED_REQUEST

  // The control named `name`, or nullptr.
  const AppliedControl* find(const std::string& name) const;
  // One line for failure messages, e.g. "deterministic_algorithms=on tf32=off
  // CUBLAS_WORKSPACE_CONFIG=:4096:8 seed=0 threads=1".
  std::string summary() const;
};

// The determinism_applied artifact (schema 1.0) for `record`.
nlohmann::json determinism_applied_json(const DeterminismRecord& record);

// Applies every control the libtorch build has, for `device` ("cpu", "cuda",
// "cuda:N"), and restores the previous state when destroyed:
//
//   {
//     detllm::DeterminismScope scope(detllm::DeterminismOptions{});
//     ... run the model ...
//   }  // global state as before
//
// Scopes nest (the DeterminismTest fixture holds one, and each check opens its
// own inside it): each restores what it found. They change process-wide state,
// so do not open them from several threads at once.
class DeterminismScope {
 public:
  explicit DeterminismScope(const DeterminismOptions& options, const std::string& device = "cpu");
  ~DeterminismScope();
  DeterminismScope(const DeterminismScope&) = delete;
  DeterminismScope& operator=(const DeterminismScope&) = delete;

  const DeterminismRecord& record() const { return record_; }
  DeterminismRecord& record() { return record_; }

 private:
  void apply_controls(const DeterminismOptions& options, bool on_cuda);
  void apply_seeds(const DeterminismOptions& options);

  struct Saved;  // internal: the global state to restore
  std::unique_ptr<Saved> saved_;
  DeterminismRecord record_;
};

// Decides the tier that can be claimed for a model with `info`, given the
// controls in `record`: tier 1 needs the controls honoured on the model's device,
// tier 2 also needs logprobs. Fills tier_effective, downgrades (best-effort) or
// capability_failures (strict).
void gate_tier(const ModelInfo& info, DeterminismRecord& record);

// Sets CUBLAS_WORKSPACE_CONFIG=:4096:8 unless already set. It only takes effect
// before the process creates its first cuBLAS handle, so call it first thing in
// main(); the test main and the CLI do.
void prepare_process_environment();

}  // namespace detllm

#endif  // DETLLM_TEST_DETERMINISM_H_
