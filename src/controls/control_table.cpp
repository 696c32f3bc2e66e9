#include "controls/control_table.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstdlib>
#include <type_traits>
#include <utility>

#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

constexpr char kUnset[] = "(unset)";
constexpr char kCublasWorkspaceValue[] = ":4096:8";

at::Context& context() { return at::globalContext(); }
std::string on_off(bool value) { return value ? "on" : "off"; }
bool is_on(const std::string& value) { return value.rfind("on", 0) == 0; }

std::string env_value(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : kUnset;
}
void set_env(const char* name, const std::string& value) {
  if (value == kUnset) {
    unsetenv(name);
  } else {
    setenv(name, value.c_str(), /*overwrite=*/1);
  }
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

// cuBLAS reduced-precision reductions: a bool in libtorch 1.13, a
// CuBLASReductionOption (which also says whether split-K is allowed) in newer
// 2.x. "on", "off", or "off (no split-K)"; read and written without naming a
// version.
template <typename Option>
std::string reduction_name(Option option) {
  if constexpr (std::is_same_v<Option, bool>) {
    return on_off(option);
  } else {
    return option == Option::AllowReducedPrecisionWithSplitK       ? "on"
           : option == Option::DisallowReducedPrecisionAllowSplitK ? "off"
                                                                   : "off (no split-K)";
  }
}
template <typename Option, typename Setter>
void set_reduction(const std::string& value, Setter set) {
  if constexpr (std::is_same_v<Option, bool>) {
    set(value == "on");
  } else {
    set(value == "on", value != "off (no split-K)");
  }
}
using Fp16Reduction = decltype(std::declval<at::Context&>().allowFP16ReductionCuBLAS());

// Controls whose value the harness checks but does not set.
std::string leave_alone(const DeterminismOptions&) { return ""; }

std::string tf32_note_problem(const std::string&, const std::string& effective,
                              const std::string& wanted, bool) {
  return effective == wanted ? "" : "effective " + effective;
}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 11)
// libtorch 2.11's per-backend float32 precision of CUDA ops: read back only
// (it follows the TF32 switches); TF32 or BF16 there means reduced precision.
template <at::Float32Op op>
std::string read_cuda_fp32_precision() {
  const at::Float32Precision p = context().float32Precision(at::Float32Backend::CUDA, op);
  return p == at::Float32Precision::IEEE   ? "ieee"
         : p == at::Float32Precision::TF32 ? "tf32"
         : p == at::Float32Precision::BF16 ? "bf16"
                                           : "none";
}
std::string wanted_fp32_precision(const DeterminismOptions& o) {
  return o.allow_tf32 ? "tf32" : "ieee";
}
std::string fp32_precision_problem(const std::string&, const std::string& effective,
                                   const std::string& wanted, bool) {
  return wanted == "ieee" && (effective == "tf32" || effective == "bf16")
             ? "reduced precision " + effective
             : "";
}
#endif

std::vector<Control> make_controls() {
  std::vector<Control> table = {
    {"CUBLAS_WORKSPACE_CONFIG", "env", true, [] { return env_value("CUBLAS_WORKSPACE_CONFIG"); },
     [](const std::string& v) { set_env("CUBLAS_WORKSPACE_CONFIG", v); },
     [](const DeterminismOptions&) { return std::string(kCublasWorkspaceValue); },
     [](const std::string& previous, const std::string& effective, const std::string& wanted,
        bool on_cuda) -> std::string {
       if (effective != wanted) return "effective " + effective;
       if (on_cuda && previous != wanted && cuda_already_initialised()) {
         return "CUDA was initialised before it was set: cuBLAS handles created earlier ignore "
                "it; call detllm::prepare_process_environment() first thing in main()";
       }
       return "";
     },
     "cuBLAS workspace of fixed size, so its reductions are deterministic"},
    {"NVIDIA_TF32_OVERRIDE", "env", true, [] { return env_value("NVIDIA_TF32_OVERRIDE"); }, nullptr,
     [](const DeterminismOptions&) { return std::string("(unset) or 0"); },
     [](const std::string&, const std::string& effective, const std::string&, bool) -> std::string {
       return effective == kUnset || effective == "0" ? "" : "NVIDIA_TF32_OVERRIDE=" + effective;
     },
     "NVIDIA_TF32_OVERRIDE=0 forces TF32 off in every NVIDIA library"},
    {"TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "env", true,
     [] { return env_value("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"); }, nullptr,
     [](const DeterminismOptions& o) { return std::string(o.allow_tf32 ? "any" : "(unset) or 0"); },
     [](const std::string&, const std::string& effective, const std::string& wanted,
        bool) -> std::string {
       return effective == "1" && wanted != "any"
                  ? "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 forces TF32 on in cuBLAS whatever "
                    "allow_tf32 says"
                  : "";
     },
     "1 forces TF32 on in cuBLAS whatever libtorch's switch says"},
    {"deterministic_algorithms", "torch", false,
     [] {
       const at::Context& c = context();
       return c.deterministicAlgorithms()
                  ? std::string(c.deterministicAlgorithmsWarnOnly() ? "on (warn only)" : "on")
                  : std::string("off");
     },
     [](const std::string& v) {
       context().setDeterministicAlgorithms(is_on(v), v == "on (warn only)");
     },
     [](const DeterminismOptions& o) {
       return std::string(!o.deterministic_algorithms ? "off"
                          : o.warn_only               ? "on (warn only)"
                                                      : "on");
     },
     nullptr, "an op without a deterministic kernel then throws, naming itself"},
    {"cudnn_deterministic", "torch", true, [] { return on_off(context().deterministicCuDNN()); },
     [](const std::string& v) { context().setDeterministicCuDNN(v == "on"); },
     [](const DeterminismOptions&) { return std::string("on"); }, nullptr,
     "cuDNN picks deterministic kernels"},
    {"cudnn_benchmark", "torch", true, [] { return on_off(context().benchmarkCuDNN()); },
     [](const std::string& v) { context().setBenchmarkCuDNN(v == "on"); },
     [](const DeterminismOptions&) { return std::string("off"); }, nullptr,
     "no timing-based kernel choice"},
    {"tf32_cublas", "torch", true, [] { return on_off(context().allowTF32CuBLAS()); },
     [](const std::string& v) { context().setAllowTF32CuBLAS(v == "on"); },
     [](const DeterminismOptions& o) { return on_off(o.allow_tf32); }, tf32_note_problem,
     "TF32 in cuBLAS float32 matmuls"},
    {"tf32_cudnn", "torch", true, [] { return on_off(context().allowTF32CuDNN()); },
     [](const std::string& v) { context().setAllowTF32CuDNN(v == "on"); },
     [](const DeterminismOptions& o) { return on_off(o.allow_tf32); }, tf32_note_problem,
     "TF32 in cuDNN float32 convolutions"},
    {"float32_matmul_precision", "torch", false,
     [] { return precision_name(context().float32MatmulPrecision()); },
     [](const std::string& v) { context().setFloat32MatmulPrecision(v); },
     [](const DeterminismOptions& o) { return std::string(o.allow_tf32 ? "high" : "highest"); },
     nullptr, "\"highest\": float32 matmuls in full float32"},
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 11)
    // libtorch 2.11's per-backend float32 precision follows the switches
    // above: read back only; TF32 or BF16 there means reduced precision.
    {"fp32_precision_cuda_matmul", "torch", true, read_cuda_fp32_precision<at::Float32Op::MATMUL>,
     nullptr, wanted_fp32_precision, fp32_precision_problem,
     "libtorch 2.11's float32 precision of CUDA matmuls"},
    {"fp32_precision_cuda_conv", "torch", true, read_cuda_fp32_precision<at::Float32Op::CONV>,
     nullptr, wanted_fp32_precision, fp32_precision_problem,
     "libtorch 2.11's float32 precision of CUDA convolutions"},
#endif
    {"fp16_reduced_precision_reduction", "torch", true,
     [] { return reduction_name(context().allowFP16ReductionCuBLAS()); },
     [](const std::string& v) {
       set_reduction<Fp16Reduction>(
           v, [](auto... allow) { context().setAllowFP16ReductionCuBLAS(allow...); });
     },
     [](const DeterminismOptions&) { return std::string("off"); },
     [](const std::string&, const std::string& effective, const std::string&, bool) -> std::string {
       return is_on(effective) ? "effective on" : "";
     },
     "float16 matmuls reduce in float32 in cuBLAS"},
#if TORCH_VERSION_MAJOR >= 2
    {"bf16_reduced_precision_reduction", "torch", true,
     [] { return reduction_name(context().allowBF16ReductionCuBLAS()); },
     [](const std::string& v) {
       using Bf16Reduction = decltype(std::declval<at::Context&>().allowBF16ReductionCuBLAS());
       set_reduction<Bf16Reduction>(
           v, [](auto... allow) { context().setAllowBF16ReductionCuBLAS(allow...); });
     },
     [](const DeterminismOptions&) { return std::string("off"); },
     [](const std::string&, const std::string& effective, const std::string&, bool) -> std::string {
       return is_on(effective) ? "effective on" : "";
     },
     "bfloat16 matmuls reduce in float32 in cuBLAS"},
#else
    {"bf16_reduced_precision_reduction", "torch", true, [] { return std::string("unavailable"); },
     nullptr, leave_alone, nullptr,
     "libtorch " TORCH_VERSION " has no switch for it: bfloat16 cuBLAS reductions may round"},
#endif
    {"threads", "torch", false, [] { return std::to_string(at::get_num_threads()); },
     [](const std::string& v) { at::set_num_threads(std::stoi(v)); },
     [](const DeterminismOptions& o) {
       return o.threads > 0 ? std::to_string(o.threads) : std::string();
     },
     nullptr, "intra-op CPU threads: reductions can round differently with another count"},
  };
  (void)leave_alone;
  return table;
}

}  // namespace

const std::vector<Control>& controls() {
  static const std::vector<Control> table = make_controls();
  return table;
}

bool cuda_already_initialised() {
  if (!at::hasCUDA()) return false;
  const int64_t count = static_cast<int64_t>(at::getNumGPUs());
  for (int64_t i = 0; i < count; ++i) {
    if (at::detail::getCUDAHooks().hasPrimaryContext(i)) return true;
  }
  return false;
}

}  // namespace detllm::internal
