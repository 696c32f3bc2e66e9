// The determinism controls of this libtorch build, each declared once: what it
// reads, how it is set, what the harness wants, and when it fails the guarantee.
#include "controls/control_table.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstdlib>
#include <type_traits>
#include <utility>

#include "detllm_test/error.h"

// libtorch 2.11's per-backend float32 precision: setFloat32Precision(backend, op,
// precision) with enums. Its getters throw ("mix of legacy and new APIs") once it
// and the legacy TF32 setters disagree, so a build that has it never calls
// setAllowTF32CuBLAS, setAllowTF32CuDNN or setFloat32MatmulPrecision.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 11)
#define DETLLM_FP32_PRECISION_API 1
#endif

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

std::string want_on(const DeterminismOptions&) { return "on"; }
std::string want_off(const DeterminismOptions&) { return "off"; }

// --- cuBLAS reduced-precision reductions and split-K ----------------------------
// A bool in libtorch 1.13; a CuBLASReductionOption in 2.x, which also says
// whether cuBLAS may split a GEMM's K dimension. "on", "off (split-K
// allowed)" or "off (no split-K)" — a pack says which, allowed included (1.13
// always allows it); read and written without naming a version.
using Fp16Reduction = decltype(std::declval<at::Context&>().allowFP16ReductionCuBLAS());
constexpr bool kHasSplitKOption = !std::is_same_v<Fp16Reduction, bool>;
constexpr const char* kOffSplitK = "off (split-K allowed)";
constexpr const char* kOffNoSplitK = "off (no split-K)";

template <typename Option>
std::string reduction_name(Option option) {
  if constexpr (std::is_same_v<Option, bool>) {
    return option ? "on" : kOffSplitK;
  } else {
    return option == Option::AllowReducedPrecisionWithSplitK       ? "on"
           : option == Option::DisallowReducedPrecisionAllowSplitK ? kOffSplitK
                                                                   : kOffNoSplitK;
  }
}
template <typename Option, typename Setter>
void set_reduction(const std::string& value, Setter set) {
  if constexpr (std::is_same_v<Option, bool>) {
    set(value == "on");
  } else {
    set(value == "on", value != kOffNoSplitK);
  }
}
std::string wanted_reduction(const DeterminismOptions& o) {
  return o.cublas_split_k ? kOffSplitK : kOffNoSplitK;
}
std::string reduction_problem(const std::string&, const std::string& effective,
                              const std::string& wanted, bool) {
  if (is_on(effective)) return "effective on";
  if (effective == wanted) return "";
  if (!kHasSplitKOption) {
    return "libtorch " TORCH_VERSION
           " cannot disallow cuBLAS split-K (2.x's CuBLASReductionOption can)";
  }
  return "effective " + effective;
}

// --- TF32 and float32 precision -------------------------------------------------
#ifdef DETLLM_FP32_PRECISION_API
template <at::Float32Backend backend, at::Float32Op op>
std::string read_fp32_precision() {
  return at::precision2str(context().float32Precision(backend, op));
}
template <at::Float32Backend backend, at::Float32Op op>
void write_fp32_precision(const std::string& value) {
  context().setFloat32Precision(backend, op, at::str2precision(value));
}
std::string wanted_cuda_fp32_precision(const DeterminismOptions& o) {
  return o.allow_tf32 ? "tf32" : "ieee";
}
// oneDNN's TF32 needs the CPU's support: with allow_tf32 it is left as it is.
std::string wanted_mkldnn_fp32_precision(const DeterminismOptions& o) {
  return o.allow_tf32 ? "" : "ieee";
}
// "none" inherits the backend's and then the generic setting, which default to
// full precision.
std::string fp32_precision_problem(const std::string&, const std::string& effective,
                                   const std::string& wanted, bool) {
  if (wanted != "ieee" || effective == "ieee" || effective == "none") return "";
  return "reduced precision " + effective;
}
template <at::Float32Backend backend, at::Float32Op op>
Control fp32_precision(const char* name, const char* note) {
  constexpr bool cuda = backend == at::Float32Backend::CUDA;
  return {name,
          "torch",
          cuda,
          read_fp32_precision<backend, op>,
          write_fp32_precision<backend, op>,
          cuda ? wanted_cuda_fp32_precision : wanted_mkldnn_fp32_precision,
          fp32_precision_problem,
          note};
}
void add_precision_controls(std::vector<Control>& table) {
  using B = at::Float32Backend;
  using Op = at::Float32Op;
  table.push_back(fp32_precision<B::CUDA, Op::MATMUL>("fp32_precision_cuda_matmul",
                                                      "float32 precision of CUDA matmuls"));
  table.push_back(fp32_precision<B::CUDA, Op::CONV>("fp32_precision_cuda_conv",
                                                    "float32 precision of cuDNN convolutions"));
  table.push_back(fp32_precision<B::CUDA, Op::RNN>("fp32_precision_cuda_rnn",
                                                   "float32 precision of cuDNN RNNs"));
  table.push_back(fp32_precision<B::MKLDNN, Op::MATMUL>(
      "fp32_precision_mkldnn_matmul", "float32 precision of oneDNN (CPU) matmuls"));
  table.push_back(fp32_precision<B::MKLDNN, Op::CONV>(
      "fp32_precision_mkldnn_conv", "float32 precision of oneDNN (CPU) convolutions"));
  table.push_back(fp32_precision<B::MKLDNN, Op::RNN>("fp32_precision_mkldnn_rnn",
                                                     "float32 precision of oneDNN (CPU) RNNs"));
}
#else
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
std::string wanted_tf32(const DeterminismOptions& o) { return on_off(o.allow_tf32); }
// The legacy switches, before 2.11.
void add_precision_controls(std::vector<Control>& table) {
  table.push_back({"tf32_cublas", "torch", true, [] { return on_off(context().allowTF32CuBLAS()); },
                   [](const std::string& v) { context().setAllowTF32CuBLAS(v == "on"); },
                   wanted_tf32, nullptr, "TF32 in cuBLAS float32 matmuls"});
  table.push_back({"tf32_cudnn", "torch", true, [] { return on_off(context().allowTF32CuDNN()); },
                   [](const std::string& v) { context().setAllowTF32CuDNN(v == "on"); },
                   wanted_tf32, nullptr, "TF32 in cuDNN float32 convolutions"});
  table.push_back(
      {"float32_matmul_precision", "torch", false,
       [] { return precision_name(context().float32MatmulPrecision()); },
       [](const std::string& v) { context().setFloat32MatmulPrecision(v); },
       [](const DeterminismOptions& o) { return std::string(o.allow_tf32 ? "high" : "highest"); },
       nullptr, "\"highest\": float32 matmuls in full float32"});
}
#endif

// TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1: libtorch 1.13's getter ORs it into the
// switch, so it wins; from 2.11 it only sets the default, which the harness
// then overrides, so what counts is what CUDA matmuls read back. Checked after
// the precision controls are set.
std::string tf32_override_problem(const std::string&, const std::string& effective,
                                  const std::string& wanted, bool) {
  if (effective != "1" || wanted == "any") return "";
#ifdef DETLLM_FP32_PRECISION_API
  const std::string matmul = read_fp32_precision<at::Float32Backend::CUDA, at::Float32Op::MATMUL>();
  return matmul == "ieee" ? "" : "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 and CUDA matmuls at " + matmul;
#else
  return "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1 forces TF32 on in cuBLAS whatever allow_tf32 says";
#endif
}

// --- libtorch 2.x switches -------------------------------------------------------
// Each exists exactly where libtorch's at::Context declares it: the compiler is
// asked (a detection trait per getter), not a version number, so a libtorch
// between the ones we build against gets every switch it has.
#define DETLLM_CONTEXT_HAS(trait, getter) \
  template <typename C, typename = void>  \
  struct trait : std::false_type {};      \
  template <typename C>                   \
  struct trait<C, std::void_t<decltype(std::declval<const C&>().getter())>> : std::true_type {}
DETLLM_CONTEXT_HAS(HasFillUninitializedMemory, deterministicFillUninitializedMemory);
DETLLM_CONTEXT_HAS(HasDeterministicMkldnn, deterministicMkldnn);
DETLLM_CONTEXT_HAS(HasFp16AccumulationCuBLAS, allowFP16AccumulationCuBLAS);
DETLLM_CONTEXT_HAS(HasFp16ReductionCpu, allowFP16ReductionCPU);
DETLLM_CONTEXT_HAS(HasMathSdpReduction, allowFP16BF16ReductionMathSDP);
DETLLM_CONTEXT_HAS(HasMathSdp, userEnabledMathSDP);
DETLLM_CONTEXT_HAS(HasFlashSdp, userEnabledFlashSDP);
DETLLM_CONTEXT_HAS(HasMemEfficientSdp, userEnabledMemEfficientSDP);
DETLLM_CONTEXT_HAS(HasCuDnnSdp, userEnabledCuDNNSDP);
#undef DETLLM_CONTEXT_HAS

// An on/off switch of at::Context, by its getter and setter.
template <auto get, auto set>
Control context_switch(const char* name, bool cuda_only,
                       std::string (*wanted)(const DeterminismOptions&), const char* note) {
  return {name,
          "torch",
          cuda_only,
          [] { return on_off((context().*get)()); },
          [](const std::string& v) { (context().*set)(v == "on"); },
          wanted,
          nullptr,
          note};
}

// "on" for a backend DeterminismOptions::sdpa_backends names, "off" for the
// others; nothing when it names none.
template <size_t backend>
std::string wanted_sdpa(const DeterminismOptions& o) {
  if (o.sdpa_backends.empty()) return "";
  for (const std::string& name : o.sdpa_backends) {
    if (name == kSdpaBackends[backend]) return "on";
  }
  return "off";
}

// An attention backend this libtorch has no switch for: allowing it is unmet,
// disallowing it holds.
template <size_t backend>
Control missing_sdpa(const char* name, bool cuda_only) {
  return {
      name,
      "torch",
      cuda_only,
      [] { return std::string("absent"); },
      nullptr,
      wanted_sdpa<backend>,
      [](const std::string&, const std::string&, const std::string& wanted, bool) -> std::string {
        return wanted == "on" ? std::string("libtorch " TORCH_VERSION " has no switch for the ") +
                                    kSdpaBackends[backend] + " attention backend"
                              : "";
      },
      "libtorch " TORCH_VERSION " has no switch for this attention backend"};
}

template <typename C>
void add_2x_switches(std::vector<Control>& table) {
  if constexpr (HasFillUninitializedMemory<C>::value) {
    table.push_back(context_switch<&C::deterministicFillUninitializedMemory,
                                   &C::setDeterministicFillUninitializedMemory>(
        "deterministic_fill_uninitialized_memory", false, want_on,
        "under deterministic algorithms, new tensors' memory is filled (NaN or the integer "
        "maximum) instead of holding whatever was there"));
  }
  if constexpr (HasDeterministicMkldnn<C>::value) {
    table.push_back(context_switch<&C::deterministicMkldnn, &C::setDeterministicMkldnn>(
        "deterministic_mkldnn", false, want_on, "oneDNN (mkldnn) picks deterministic kernels"));
  }
  if constexpr (HasFp16AccumulationCuBLAS<C>::value) {
    table.push_back(
        context_switch<&C::allowFP16AccumulationCuBLAS, &C::setAllowFP16AccumulationCuBLAS>(
            "fp16_accumulation_cublas", true, want_off,
            "float16 GEMMs accumulate in float32, not float16"));
  }
  if constexpr (HasFp16ReductionCpu<C>::value) {
    table.push_back(context_switch<&C::allowFP16ReductionCPU, &C::setAllowFP16ReductionCPU>(
        "fp16_reduced_precision_reduction_cpu", false, want_off,
        "float16 CPU matmuls reduce in float32"));
  }
  if constexpr (HasMathSdpReduction<C>::value) {
    table.push_back(
        context_switch<&C::allowFP16BF16ReductionMathSDP, &C::setAllowFP16BF16ReductionMathSDP>(
            "sdpa_math_fp16_bf16_reduction", false, want_off,
            "the math attention kernel computes float16 and bfloat16 in float32"));
  }
  // Flash attention has a CPU kernel too; memory-efficient and cuDNN are CUDA's.
  if constexpr (HasMathSdp<C>::value) {
    table.push_back(context_switch<&C::userEnabledMathSDP, &C::setSDPUseMath>(
        "sdpa_math", false, wanted_sdpa<0>,
        "scaled_dot_product_attention may use the math kernel"));
  } else {
    table.push_back(missing_sdpa<0>("sdpa_math", false));
  }
  if constexpr (HasFlashSdp<C>::value) {
    table.push_back(context_switch<&C::userEnabledFlashSDP, &C::setSDPUseFlash>(
        "sdpa_flash", false, wanted_sdpa<1>,
        "scaled_dot_product_attention may use flash attention"));
  } else {
    table.push_back(missing_sdpa<1>("sdpa_flash", false));
  }
  if constexpr (HasMemEfficientSdp<C>::value) {
    table.push_back(context_switch<&C::userEnabledMemEfficientSDP, &C::setSDPUseMemEfficient>(
        "sdpa_mem_efficient", true, wanted_sdpa<2>,
        "scaled_dot_product_attention may use the memory-efficient kernel"));
  } else {
    table.push_back(missing_sdpa<2>("sdpa_mem_efficient", true));
  }
  if constexpr (HasCuDnnSdp<C>::value) {
    table.push_back(context_switch<&C::userEnabledCuDNNSDP, &C::setSDPUseCuDNN>(
        "sdpa_cudnn", true, wanted_sdpa<3>,
        "scaled_dot_product_attention may use cuDNN's attention"));
  } else {
    table.push_back(missing_sdpa<3>("sdpa_cudnn", true));
  }
}

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
       [](const std::string& v) { context().setDeterministicCuDNN(v == "on"); }, want_on, nullptr,
       "cuDNN picks deterministic kernels"},
      {"cudnn_benchmark", "torch", true, [] { return on_off(context().benchmarkCuDNN()); },
       [](const std::string& v) { context().setBenchmarkCuDNN(v == "on"); }, want_off, nullptr,
       "no timing-based kernel choice"},
  };
  add_precision_controls(table);
  table.push_back(
      {"NVIDIA_TF32_OVERRIDE", "env", true, [] { return env_value("NVIDIA_TF32_OVERRIDE"); },
       nullptr, [](const DeterminismOptions&) { return std::string("(unset) or 0"); },
       [](const std::string&, const std::string& effective, const std::string&,
          bool) -> std::string {
         return effective == kUnset || effective == "0" ? "" : "NVIDIA_TF32_OVERRIDE=" + effective;
       },
       "NVIDIA_TF32_OVERRIDE=0 forces TF32 off in every NVIDIA library"});
  table.push_back({"TORCH_ALLOW_TF32_CUBLAS_OVERRIDE", "env", true,
                   [] { return env_value("TORCH_ALLOW_TF32_CUBLAS_OVERRIDE"); }, nullptr,
                   [](const DeterminismOptions& o) {
                     return std::string(o.allow_tf32 ? "any" : "(unset) or 0");
                   },
                   tf32_override_problem,
                   "1 turns TF32 on in cuBLAS (1.13: whatever the switch says)"});
  table.push_back({"fp16_reduced_precision_reduction", "torch", true,
                   [] { return reduction_name(context().allowFP16ReductionCuBLAS()); },
                   [](const std::string& v) {
                     set_reduction<Fp16Reduction>(
                         v, [](auto... allow) { context().setAllowFP16ReductionCuBLAS(allow...); });
                   },
                   wanted_reduction, reduction_problem,
                   "float16 GEMMs reduce in float32 in cuBLAS; \"no split-K\": nor split their "
                   "K dimension, a choice that follows the matrix shape, so the batch size"});
#if TORCH_VERSION_MAJOR >= 2
  table.push_back({"bf16_reduced_precision_reduction", "torch", true,
                   [] { return reduction_name(context().allowBF16ReductionCuBLAS()); },
                   [](const std::string& v) {
                     using Bf16Reduction =
                         decltype(std::declval<at::Context&>().allowBF16ReductionCuBLAS());
                     set_reduction<Bf16Reduction>(
                         v, [](auto... allow) { context().setAllowBF16ReductionCuBLAS(allow...); });
                   },
                   wanted_reduction, reduction_problem,
                   "bfloat16 GEMMs reduce in float32 in cuBLAS; \"no split-K\" as for float16"});
#else
  table.push_back(
      {"bf16_reduced_precision_reduction", "torch", true, [] { return std::string("unavailable"); },
       nullptr, [](const DeterminismOptions&) { return std::string(); }, nullptr,
       "libtorch " TORCH_VERSION " has no switch for it: bfloat16 cuBLAS reductions may round"});
#endif
  add_2x_switches<at::Context>(table);
  table.push_back({"threads", "torch", false, [] { return std::to_string(at::get_num_threads()); },
                   [](const std::string& v) { at::set_num_threads(std::stoi(v)); },
                   [](const DeterminismOptions& o) {
                     return o.threads > 0 ? std::to_string(o.threads) : std::string();
                   },
                   nullptr,
                   "intra-op CPU threads: reductions can round differently with another count"});
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
