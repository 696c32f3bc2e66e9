#include "detllm_test/determinism.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>

#include "detllm_test/error.h"
#include "detllm_test/version.h"
#include "internal/torch_compat.h"

namespace detllm {

using nlohmann::json;

namespace {

constexpr char kCublasWorkspaceVar[] = "CUBLAS_WORKSPACE_CONFIG";
constexpr char kCublasWorkspaceValue[] = ":4096:8";

std::string on_off(bool value) { return value ? "on" : "off"; }

std::optional<std::string> getenv_string(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::optional<std::string>(value) : std::nullopt;
}

std::string precision_name(at::Float32MatmulPrecision precision) {
  switch (precision) {
    case at::Float32MatmulPrecision::HIGHEST:
      return "highest";
    case at::Float32MatmulPrecision::HIGH:
      return "high";
    case at::Float32MatmulPrecision::MEDIUM:
      return "medium";
  }
  return "unknown";
}

// True if a CUDA context already exists on the device: then cuBLAS handles may
// exist too, created before CUBLAS_WORKSPACE_CONFIG was set.
bool cuda_already_initialised(const std::string& device) {
  if (!at::hasCUDA()) return false;
  const int64_t count = static_cast<int64_t>(at::getNumGPUs());
  for (int64_t i = 0; i < count; ++i) {
    if (device != "cpu" && at::detail::getCUDAHooks().hasPrimaryContext(i)) return true;
  }
  return false;
}

}  // namespace

std::string to_string(Mode mode) { return mode == Mode::kStrict ? "strict" : "best-effort"; }

Mode mode_from_string(const std::string& name) {
  if (name == "strict") return Mode::kStrict;
  if (name == "best-effort" || name == "best_effort") return Mode::kBestEffort;
  throw Error("unknown mode '" + name + "'; expected strict or best-effort");
}

const AppliedControl* DeterminismRecord::find(const std::string& name) const {
  for (const AppliedControl& control : controls) {
    if (control.name == name) return &control;
  }
  return nullptr;
}

std::string DeterminismRecord::summary() const {
  auto value = [this](const char* name) {
    const AppliedControl* control = find(name);
    return control ? control->effective : std::string("?");
  };
  return "deterministic_algorithms=" + value("deterministic_algorithms") +
         " tf32=" + value("tf32_cublas") + " " + kCublasWorkspaceVar + "=" +
         value(kCublasWorkspaceVar) + " seed=" + (seed ? std::to_string(*seed) : "none") +
         " threads=" + value("threads");
}

json determinism_applied_json(const DeterminismRecord& record) {
  json groups = {{"seed", json::object()}, {"torch", json::object()}, {"env", json::object()}};
  for (const AppliedControl& c : record.controls) {
    groups[c.group][c.name] = {{"requested", c.requested},
                               {"effective", c.effective},
                               {"previous", c.previous},
                               {"honoured", c.honoured},
                               {"note", c.note}};
  }
  json downgrades = json::array();
  for (const Downgrade& d : record.downgrades) {
    downgrades.push_back({{"from", d.from}, {"to", d.to}, {"reason", d.reason}});
  }
  return json{
      {"schema_version", kSchemaVersion},
      {"detllm_version", kVersion},
      {"artifact_type", "determinism_applied"},
      {"tier_requested", record.tier_requested},
      {"tier_effective", record.tier_effective},
      {"mode", to_string(record.mode)},
      {"seed", record.seed ? json(*record.seed) : json(nullptr)},
      {"seed_controls", groups["seed"]},
      {"torch_controls", groups["torch"]},
      {"env_controls", groups["env"]},
      {"downgrades", downgrades},
      {"warnings", record.warnings},
      {"capability_failures", record.capability_failures},
      {"threads", record.threads},
  };
}

// Internal: the global state found when the scope opened.
struct DeterminismScope::Saved {
  bool deterministic_algorithms = false;
  bool deterministic_warn_only = false;
  bool cudnn_deterministic = false;
  bool cudnn_benchmark = false;
  bool tf32_cublas = false;
  bool tf32_cudnn = false;
  at::Float32MatmulPrecision matmul_precision = at::Float32MatmulPrecision::HIGHEST;
  internal::Fp16ReductionOption fp16_reduction{};
#if TORCH_VERSION_MAJOR >= 2
  internal::Bf16ReductionOption bf16_reduction{};
#endif
  int threads = 0;
  std::optional<std::string> cublas_workspace;
  at::Tensor cpu_rng_state;
};

DeterminismScope::DeterminismScope(const DeterminismOptions& options, const std::string& device)
    : saved_(std::make_unique<Saved>()) {
  at::Context& context = at::globalContext();
  const bool on_cuda = device.rfind("cuda", 0) == 0;
  const std::string cuda_only = on_cuda ? "" : "applies to CUDA only";
  record_.tier_requested = options.tier;
  record_.tier_effective = options.tier;
  record_.mode = options.mode;
  record_.seed = options.seed;
  auto add = [this](std::string group, std::string name, std::string requested,
                    std::string effective, std::string previous, bool honoured, std::string note) {
    record_.controls.push_back({std::move(group), std::move(name), std::move(requested),
                                std::move(effective), std::move(previous), honoured,
                                std::move(note)});
  };

  // The environment variable first: it must precede the first cuBLAS handle.
  saved_->cublas_workspace = getenv_string(kCublasWorkspaceVar);
  const bool too_late = on_cuda && cuda_already_initialised(device) &&
                        saved_->cublas_workspace != std::string(kCublasWorkspaceValue);
  setenv(kCublasWorkspaceVar, kCublasWorkspaceValue, /*overwrite=*/1);
  std::string note;
  if (too_late) {
    note =
        "CUDA was initialised before it was set: cuBLAS handles created earlier ignore it; "
        "call detllm::prepare_process_environment() first thing in main()";
    record_.warnings.push_back(std::string(kCublasWorkspaceVar) + " came too late: " + note);
  } else if (!on_cuda) {
    note = cuda_only;
  }
  add("env", kCublasWorkspaceVar, kCublasWorkspaceValue,
      getenv_string(kCublasWorkspaceVar).value_or(""), saved_->cublas_workspace.value_or("(unset)"),
      !too_late, note);

  // Environment overrides that beat libtorch's own TF32 switches.
  const auto nvidia_override = getenv_string("NVIDIA_TF32_OVERRIDE");
  add("env", "NVIDIA_TF32_OVERRIDE", "(unset) or 0", nvidia_override.value_or("(unset)"), "",
      !nvidia_override || *nvidia_override == "0",
      "NVIDIA_TF32_OVERRIDE=0 forces TF32 off in every NVIDIA library");
  const auto torch_override = getenv_string("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE");
  const bool torch_override_on = torch_override && *torch_override == "1";
  add("env", "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "(unset) or 0", torch_override.value_or("(unset)"),
      "", !(on_cuda && torch_override_on),
      torch_override_on ? "forces TF32 on in cuBLAS whatever allow_tf32 says" : "");

  // libtorch's switches: save, set, read back.
  Saved& s = *saved_;
  s.deterministic_algorithms = context.deterministicAlgorithms();
  s.deterministic_warn_only = context.deterministicAlgorithmsWarnOnly();
  context.setDeterministicAlgorithms(options.deterministic_algorithms, options.warn_only);
  auto algorithms_name = [](bool on, bool warn_only) {
    return on ? (warn_only ? "on (warn only)" : "on") : "off";
  };
  const std::string algorithms =
      algorithms_name(context.deterministicAlgorithms(), context.deterministicAlgorithmsWarnOnly());
  const std::string wanted = algorithms_name(options.deterministic_algorithms, options.warn_only);
  add("torch", "deterministic_algorithms", wanted, algorithms, on_off(s.deterministic_algorithms),
      algorithms == wanted,
      options.deterministic_algorithms
          ? "an op without a deterministic kernel then throws, naming itself"
          : "turned off on request");

  s.cudnn_deterministic = context.deterministicCuDNN();
  context.setDeterministicCuDNN(true);
  add("torch", "cudnn_deterministic", "on", on_off(context.deterministicCuDNN()),
      on_off(s.cudnn_deterministic), context.deterministicCuDNN(), cuda_only);
  s.cudnn_benchmark = context.benchmarkCuDNN();
  context.setBenchmarkCuDNN(false);
  add("torch", "cudnn_benchmark", "off", on_off(context.benchmarkCuDNN()),
      on_off(s.cudnn_benchmark), !context.benchmarkCuDNN(), cuda_only);

  const bool tf32 = options.allow_tf32;
  const std::string tf32_note = tf32 ? "turned on on request" : cuda_only;
  s.tf32_cublas = context.allowTF32CuBLAS();
  context.setAllowTF32CuBLAS(tf32);
  const bool tf32_cublas = context.allowTF32CuBLAS() || torch_override_on;
  add("torch", "tf32_cublas", on_off(tf32), on_off(tf32_cublas), on_off(s.tf32_cublas),
      tf32_cublas == tf32 || !on_cuda, tf32_note);
  s.tf32_cudnn = context.allowTF32CuDNN();
  context.setAllowTF32CuDNN(tf32);
  add("torch", "tf32_cudnn", on_off(tf32), on_off(context.allowTF32CuDNN()), on_off(s.tf32_cudnn),
      context.allowTF32CuDNN() == tf32 || !on_cuda, tf32_note);
  s.matmul_precision = context.float32MatmulPrecision();
  const std::string precision = tf32 ? "high" : "highest";
  context.setFloat32MatmulPrecision(precision);
  add("torch", "float32_matmul_precision", precision,
      precision_name(context.float32MatmulPrecision()), precision_name(s.matmul_precision),
      precision_name(context.float32MatmulPrecision()) == precision, tf32 ? tf32_note : "");

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 11)
  // libtorch 2.x's newer per-backend float32 precision, read back after the
  // switches above (which it follows): TF32 or BF16 here means reduced precision.
  for (const auto& [op, name] : {std::pair{at::Float32Op::MATMUL, "fp32_precision_cuda_matmul"},
                                 std::pair{at::Float32Op::CONV, "fp32_precision_cuda_conv"}}) {
    const at::Float32Precision p = context.float32Precision(at::Float32Backend::CUDA, op);
    const char* effective = p == at::Float32Precision::IEEE   ? "ieee"
                            : p == at::Float32Precision::TF32 ? "tf32"
                            : p == at::Float32Precision::BF16 ? "bf16"
                                                              : "none";
    const bool reduced = p == at::Float32Precision::TF32 || p == at::Float32Precision::BF16;
    add("torch", name, tf32 ? "tf32" : "ieee", effective, "", tf32 || !reduced || !on_cuda,
        tf32_note);
  }
#endif
  s.fp16_reduction = context.allowFP16ReductionCuBLAS();
  context.setAllowFP16ReductionCuBLAS(false);
  const bool fp16_reduction = internal::reduction_allowed(context.allowFP16ReductionCuBLAS());
  add("torch", "fp16_reduced_precision_reduction", "off", on_off(fp16_reduction),
      on_off(internal::reduction_allowed(s.fp16_reduction)), !fp16_reduction || !on_cuda,
      cuda_only);
#if TORCH_VERSION_MAJOR >= 2
  s.bf16_reduction = context.allowBF16ReductionCuBLAS();
  context.setAllowBF16ReductionCuBLAS(false);
  const bool bf16_reduction = internal::reduction_allowed(context.allowBF16ReductionCuBLAS());
  add("torch", "bf16_reduced_precision_reduction", "off", on_off(bf16_reduction),
      on_off(internal::reduction_allowed(s.bf16_reduction)), !bf16_reduction || !on_cuda,
      cuda_only);
#else
  add("torch", "bf16_reduced_precision_reduction", "off", "unavailable", "", true,
      "libtorch " TORCH_VERSION " has no switch for it");
  if (on_cuda) {
    record_.warnings.push_back("libtorch " TORCH_VERSION
                               " cannot turn off bf16 reduced-precision reductions in cuBLAS");
  }
#endif

  s.threads = at::get_num_threads();
  if (options.threads > 0 && options.threads != s.threads) at::set_num_threads(options.threads);
  record_.threads = at::get_num_threads();
  add("torch", "threads", options.threads > 0 ? std::to_string(options.threads) : "(unchanged)",
      std::to_string(record_.threads), std::to_string(s.threads),
      options.threads <= 0 || record_.threads == options.threads,
      "intra-op CPU threads: reductions can round differently with another count");

  // Seeds last: seeding touches the generators only, never CUDA handles.
  at::Generator cpu_generator = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu_generator.mutex());
    s.cpu_rng_state = cpu_generator.get_state();
  }
  if (options.seed) {
    at::manual_seed(*options.seed);
    const uint64_t effective = at::detail::getDefaultCPUGenerator().current_seed();
    const std::string seed = std::to_string(*options.seed);
    add("seed", "torch_manual_seed", seed, std::to_string(effective), "",
        effective == *options.seed,
        "libtorch's global CPU generator, seeded once per check (runs are not reseeded)");
    const bool gpus = at::hasCUDA() && at::getNumGPUs() > 0;
    add("seed", "cuda_manual_seed_all", seed, gpus ? seed : "no CUDA device", "", true,
        "every CUDA device's default generator");
  }
  add("seed", "sampling_generators", "per request", "per request", "", true,
      "each request samples from its own generator seeded from (seed, its token ids)");
}

DeterminismScope::~DeterminismScope() {
  at::Context& context = at::globalContext();
  const Saved& s = *saved_;
  context.setDeterministicAlgorithms(s.deterministic_algorithms, s.deterministic_warn_only);
  context.setDeterministicCuDNN(s.cudnn_deterministic);
  context.setBenchmarkCuDNN(s.cudnn_benchmark);
  context.setAllowTF32CuBLAS(s.tf32_cublas);
  context.setAllowTF32CuDNN(s.tf32_cudnn);
  context.setFloat32MatmulPrecision(precision_name(s.matmul_precision));
  internal::restore_reduction(
      s.fp16_reduction, [&](auto... allow) { context.setAllowFP16ReductionCuBLAS(allow...); });
#if TORCH_VERSION_MAJOR >= 2
  internal::restore_reduction(
      s.bf16_reduction, [&](auto... allow) { context.setAllowBF16ReductionCuBLAS(allow...); });
#endif
  if (at::get_num_threads() != s.threads) at::set_num_threads(s.threads);
  if (s.cublas_workspace) {
    setenv(kCublasWorkspaceVar, s.cublas_workspace->c_str(), 1);
  } else {
    unsetenv(kCublasWorkspaceVar);
  }
  at::Generator cpu_generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(cpu_generator.mutex());
  cpu_generator.set_state(s.cpu_rng_state);
}

void gate_tier(const ModelInfo& info, DeterminismRecord& record) {
  if (record.tier_requested < 0 || record.tier_requested > kMaxTier) {
    throw Error("tier " + std::to_string(record.tier_requested) + " does not exist; use 0, 1 or 2");
  }
  std::vector<std::string> tier1_unmet, tier2_unmet;
  if (!info.capabilities.honours_controls) {
    tier1_unmet.push_back("model '" + info.name +
                          "' is not governed by libtorch's determinism controls");
  }
  for (const AppliedControl& control : record.controls) {
    if (!control.honoured) {
      tier1_unmet.push_back(
          "control " + control.name + " is not in force (" +
          (control.note.empty() ? "effective " + control.effective : control.note) + ")");
    }
  }
  if (!info.capabilities.logprobs) {
    tier2_unmet.push_back("model '" + info.name + "' cannot give log-probabilities");
  }
  const int supported = !tier1_unmet.empty() ? 0 : !tier2_unmet.empty() ? 1 : kMaxTier;
  if (record.tier_requested <= supported) {
    record.tier_effective = record.tier_requested;
    return;
  }
  std::vector<std::string> reasons = tier1_unmet;
  if (record.tier_requested >= 2)
    reasons.insert(reasons.end(), tier2_unmet.begin(), tier2_unmet.end());
  record.tier_effective = supported;
  if (record.mode == Mode::kStrict) {
    for (const std::string& reason : reasons) {
      record.capability_failures.push_back("tier " + std::to_string(record.tier_requested) +
                                           " requires it, but " + reason);
    }
    return;
  }
  for (const std::string& reason : reasons) {
    record.downgrades.push_back({record.tier_requested, supported, reason});
    record.warnings.push_back("tier " + std::to_string(record.tier_requested) + " lowered to " +
                              std::to_string(supported) + ": " + reason);
  }
}

void prepare_process_environment() {
  setenv(kCublasWorkspaceVar, kCublasWorkspaceValue, /*overwrite=*/0);
}

}  // namespace detllm
