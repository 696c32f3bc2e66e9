// The environment snapshot (env.json): what a run's numerics depend on, with
// secrets redacted and a fingerprint over the rest.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/utsname.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>

#include "artifacts/json_io.h"
#include "artifacts/sha256.h"
#include "controls/control_table.h"
#include "detllm_test/env.h"
#include "detllm_test/version.h"
#include "env/cpu_facts.h"
#include "env/cuda_facts.h"

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

constexpr const char* kSecretMarkers[] = {
    "TOKEN", "SECRET", "KEY",     "PASSWORD", "PASSWD", "PWD",      "CREDENTIAL",
    "AUTH",  "BEARER", "PRIVATE", "SESSION",  "COOKIE", "SIGNATURE"};

// Values that are secrets whatever their variable is called: published token
// shapes (Hugging Face, GitHub, OpenAI-style, AWS access keys) and JWTs.
const std::regex& token_shapes() {
  static const std::regex shapes(
      "(hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|"
      "sk-[A-Za-z0-9_-]{20,}|(AKIA|ASIA)[0-9A-Z]{16}|"
      "eyJ[A-Za-z0-9_-]{5,}\\.eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]+)");
  return shapes;
}

// A run of 32 or more token characters with letters and digits and over 4
// bits of entropy per character: a key, not a path, version or number.
bool has_high_entropy_run(const std::string& value) {
  const auto is_token_char = [](unsigned char c) {
    return std::isalnum(c) || c == '+' || c == '_' || c == '=' || c == '-';
  };
  size_t start = 0;
  while (start < value.size()) {
    size_t end = start;
    while (end < value.size() && is_token_char(static_cast<unsigned char>(value[end]))) ++end;
    if (end - start >= 32) {
      const std::string run = value.substr(start, end - start);
      int counts[256] = {};
      bool letters = false, digits = false;
      for (const unsigned char c : run) {
        ++counts[c];
        letters = letters || std::isalpha(c);
        digits = digits || std::isdigit(c);
      }
      double entropy = 0;
      for (const int n : counts) {
        if (n == 0) continue;
        const double p = static_cast<double>(n) / static_cast<double>(run.size());
        entropy -= p * std::log2(p);
      }
      if (letters && digits && entropy > 4.0) return true;
    }
    start = end + 1;
  }
  return false;
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
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
        {"cpu", internal::cpu_facts()},
        {"blas", internal::blas_facts()},
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
    s.update(internal::cuda_facts(gpus > 0));
    s["cudnn"] = {{"version", cudnn_version()}};
    return s;
  }();
  return snapshot;
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

std::string redacted_value(const std::string& name, const std::string& value,
                           const EnvOptions& options) {
  if (is_redacted(name, options)) return "<redacted>";
  if (!options.redact) return value;
  if (std::regex_search(value, token_shapes()) || has_high_entropy_run(value)) return "<redacted>";
  // A URL's credentials (scheme://user:password@host), keeping the host.
  static const std::regex userinfo("://[^/?#@\\s]+@");
  return std::regex_replace(value, userinfo, "://<redacted>@");
}

namespace {

// What can change while the process lives: the captured variables and
// libtorch's settings, read now from the table of controls (a model or library
// that changes one between runs changes the fingerprint).
json changing_part(const EnvOptions& options) {
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
    vars[name] = redacted_value(name, text.substr(equals + 1), options);
  }
  json runtime = {{"num_threads", at::get_num_threads()},
                  {"num_interop_threads", at::get_num_interop_threads()}};
  for (const internal::Control& control : internal::controls()) {
    if (std::string(control.group) == "torch") runtime[control.name] = control.read();
  }
  return {{"env_vars", std::move(vars)}, {"runtime", std::move(runtime)}};
}

}  // namespace

json capture_env(const EnvOptions& options) {
  // A check captures the environment before every run; when nothing changed
  // since the last capture, the last snapshot (and its fingerprint, the costly
  // part) is the answer.
  static std::mutex mutex;
  static json last_changing, last_snapshot;
  json changing = changing_part(options);
  std::lock_guard<std::mutex> lock(mutex);
  if (changing == last_changing) return last_snapshot;
  json snapshot = static_part();
  snapshot["schema_version"] = kSchemaVersion;
  snapshot["detllm_version"] = kVersion;
  snapshot["artifact_type"] = "env_snapshot";
  snapshot["env_vars"] = changing["env_vars"];
  snapshot["torch"]["runtime"] = changing["runtime"];
  snapshot["fingerprint"] = env_fingerprint(snapshot);
  last_changing = std::move(changing);
  last_snapshot = snapshot;
  return snapshot;
}

json capture_env(const ModelInfo& model, const EnvOptions& options) {
  json snapshot = capture_env(options);
  if (model.server_url.empty()) return snapshot;
  const json server = internal::parse_json(model.server_json);
  json about = json::object();
  if (server.is_object()) {
    // Not the whole /v1/models answer: vLLM's holds a creation time per call.
    for (const char* key : {"kind", "version", "props"}) {
      if (server.contains(key)) about[key] = server[key];
    }
    // What a server draws anew at each start (llama.cpp's random media
    // marker) says nothing of how it computes: a restart is no environment
    // change.
    if (about.contains("props") && about["props"].is_object()) {
      for (const char* key : {"media_marker"}) about["props"].erase(key);
    }
    json ids = json::array();
    if (server.contains("models") && server["models"].contains("data") &&
        server["models"]["data"].is_array()) {
      for (const json& m : server["models"]["data"]) {
        if (m.is_object() && m.contains("id")) ids.push_back(m["id"]);
      }
    }
    about["models"] = ids;
  }
  snapshot["inference"] = {{"remote", true}, {"server_url", model.server_url}, {"server", about}};
  snapshot.erase("fingerprint");
  snapshot["fingerprint"] = env_fingerprint(snapshot);
  return snapshot;
}

}  // namespace detllm
