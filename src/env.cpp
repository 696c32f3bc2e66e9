#include "detllm_test/env.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/utsname.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#ifdef DETLLM_HAVE_CUDA_RUNTIME
#include <cublas_api.h>
#include <cuda_runtime_api.h>
#endif

#include "detllm_test/version.h"
#include "internal/json_io.h"
#include "internal/sha256.h"
#include "internal/torch_compat.h"

extern char** environ;

namespace detllm {

using nlohmann::json;

namespace {

// Variables that can change numerics or which device and library run; the rest
// of the environment is left out of the snapshot and the fingerprint. DETLLM_*
// configures the harness itself (e.g. the artifact directory) and is left out.
constexpr const char* kCapturedPrefixes[] = {
    "CUDA_",    "CUBLAS_", "CUBLASLT_", "CUDNN_",        "NVIDIA_",    "NCCL_",          "TORCH_",
    "PYTORCH_", "OMP_",    "MKL_",      "OPENBLAS_",     "GOMP_",      "KMP_",           "DNNL_",
    "ONEDNN_",  "ATEN_",   "HF_",       "TRANSFORMERS_", "LD_PRELOAD", "LD_LIBRARY_PATH"};

constexpr const char* kSecretMarkers[] = {"TOKEN", "SECRET", "KEY", "PASSWORD", "CREDENTIAL"};

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

// cuDNN's version as libtorch reports it, or null.
json cudnn_version() {
  try {
    if (at::hasCUDA() && at::detail::getCUDAHooks().hasCuDNN()) {
      return at::detail::getCUDAHooks().versionCuDNN();
    }
  } catch (const c10::Error&) {
  }
  return nullptr;
}

// GPU facts straight from the CUDA runtime and cuBLAS: {cuda, cublas, device}.
// Without the toolkit at build time, or without a GPU, it says so.
json gpu_facts() {
  json facts = {
      {"cuda", {{"available", false}}}, {"cublas", {{"version", nullptr}}}, {"device", nullptr}};
#ifdef DETLLM_HAVE_CUDA_RUNTIME
  int driver = 0, runtime = 0, count = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  const cudaError_t status = cudaGetDeviceCount(&count);
  facts["cuda"] = {{"available", status == cudaSuccess && count > 0},
                   {"device_count", status == cudaSuccess ? count : 0},
                   {"driver_version", driver},
                   {"runtime_version", runtime},
                   {"source", "CUDA runtime"}};
  if (status != cudaSuccess) facts["cuda"]["error"] = cudaGetErrorString(status);
  int major = 0, minor = 0, patch = 0;
  cublasGetProperty(MAJOR_VERSION, &major);
  cublasGetProperty(MINOR_VERSION, &minor);
  cublasGetProperty(PATCH_LEVEL, &patch);
  facts["cublas"] = {{"version", std::to_string(major) + "." + std::to_string(minor) + "." +
                                     std::to_string(patch)}};
  if (status == cudaSuccess && count > 0) {
    json devices = json::array();
    for (int i = 0; i < count; ++i) {
      cudaDeviceProp p{};
      if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
      devices.push_back(
          {{"index", i},
           {"name", p.name},
           {"compute_capability", std::to_string(p.major) + "." + std::to_string(p.minor)},
           {"sm_count", p.multiProcessorCount},
           {"memory_bytes", p.totalGlobalMem}});
    }
    facts["device"] = devices.empty() ? json(nullptr) : devices[0];
    if (!devices.empty()) {
      facts["device"]["type"] = "cuda";
      facts["device"]["count"] = count;
      facts["device"]["all"] = devices;
    }
  }
#else
  const int64_t gpus = at::hasCUDA() ? static_cast<int64_t>(at::getNumGPUs()) : 0;
  facts["cuda"] = {{"available", gpus > 0},
                   {"device_count", gpus},
                   {"source", "libtorch (built without the CUDA Toolkit)"}};
  if (gpus > 0) facts["device"] = {{"type", "cuda"}, {"count", gpus}};
#endif
  facts["cudnn"] = {{"version", cudnn_version()}};
  return facts;
}

// What cannot change while the process lives, computed once.
const json& static_part() {
  static const json snapshot = [] {
    utsname names{};
    uname(&names);
    const int64_t gpus = at::hasCUDA() ? static_cast<int64_t>(at::getNumGPUs()) : 0;
    json s = {
        {"python", {{"version", nullptr}, {"implementation", nullptr}}},
        {"transformers", {{"version", nullptr}}},
        {"platform",
         {{"system", names.sysname},
          {"release", names.release},
          {"version", names.version},
          {"machine", names.machine}}},
        {"compiler",
         {
#if defined(__clang__)
             {"id", "clang"},
#elif defined(__GNUC__)
             {"id", "gcc"},
#else
             {"id", "unknown"},
#endif
             {"version", __VERSION__},
             {"cxx_standard", __cplusplus}}},
        {"cpu", {{"model", cpu_model()}, {"logical_cores", std::thread::hardware_concurrency()}}},
        {"libtorch",
         {{"version", TORCH_VERSION},
          {"cxx11_abi", _GLIBCXX_USE_CXX11_ABI == 1},
          {"has_cuda", at::hasCUDA()},
          {"has_mkl", at::hasMKL()},
          {"has_mkldnn", at::hasMKLDNN()},
          {"has_openmp", at::hasOpenMP()},
          {"build_config_sha256", internal::sha256_hex(at::show_config())}}},
        {"torch",
         {{"version", TORCH_VERSION}, {"cuda_available", gpus > 0}, {"cuda_device_count", gpus}}},
    };
    s.update(gpu_facts());
    return s;
  }();
  return snapshot;
}

void collect_differences(const json& left, const json& right, const std::string& path,
                         std::vector<std::string>& out) {
  if (left.is_object() && right.is_object()) {
    for (const auto& [key, value] : left.items()) {
      const std::string child = path.empty() ? key : path + "." + key;
      if (child == "fingerprint") continue;
      if (!right.contains(key)) {
        out.push_back(child);
      } else {
        collect_differences(value, right[key], child, out);
      }
    }
    for (const auto& [key, value] : right.items()) {
      if (!left.contains(key)) out.push_back(path.empty() ? key : path + "." + key);
    }
  } else if (left != right) {
    out.push_back(path);
  }
}

}  // namespace

bool is_redacted(const std::string& name, const EnvOptions& options) {
  for (const std::string& extra : options.redact_vars) {
    if (upper(extra) == upper(name)) return true;
  }
  if (!options.redact) return false;
  const std::string upper_name = upper(name);
  return std::any_of(std::begin(kSecretMarkers), std::end(kSecretMarkers), [&](const char* marker) {
    return upper_name.find(marker) != std::string::npos;
  });
}

json capture_env(const EnvOptions& options) {
  json snapshot = static_part();
  snapshot["schema_version"] = kSchemaVersion;
  snapshot["detllm_version"] = kVersion;
  snapshot["artifact_type"] = "env_snapshot";
  json vars = json::object();
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const size_t equals = text.find('=');
    if (equals == std::string::npos) continue;
    const std::string name = text.substr(0, equals);
    const bool captured =
        std::any_of(std::begin(kCapturedPrefixes), std::end(kCapturedPrefixes),
                    [&](const char* prefix) { return name.rfind(prefix, 0) == 0; });
    if (!captured) continue;
    vars[name] = is_redacted(name, options) ? "<redacted>" : text.substr(equals + 1);
  }
  snapshot["env_vars"] = vars;
  // libtorch's process-wide settings, read now: a model or library that changes
  // them between runs changes the fingerprint.
  at::Context& context = at::globalContext();
  snapshot["torch"]["runtime"] = {
      {"num_threads", at::get_num_threads()},
      {"num_interop_threads", at::get_num_interop_threads()},
      {"deterministic_algorithms", context.deterministicAlgorithms()},
      {"cudnn_deterministic", context.deterministicCuDNN()},
      {"cudnn_benchmark", context.benchmarkCuDNN()},
      {"tf32_cublas", context.allowTF32CuBLAS()},
      {"tf32_cudnn", context.allowTF32CuDNN()},
      {"fp16_reduction_cublas", internal::reduction_allowed(context.allowFP16ReductionCuBLAS())},
  };
  snapshot["fingerprint"] = env_fingerprint(snapshot);
  return snapshot;
}

std::string env_fingerprint(const json& snapshot) {
  json without = snapshot;
  if (without.is_object()) without.erase("fingerprint");
  return internal::sha256_hex(internal::dump(without));
}

std::vector<std::string> env_differences(const json& left, const json& right) {
  std::vector<std::string> out;
  collect_differences(left, right, "", out);
  return out;
}

}  // namespace detllm
