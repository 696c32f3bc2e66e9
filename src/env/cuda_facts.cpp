// GPU facts for env.json from the CUDA runtime, driver and cuBLAS, opened with
// dlopen only when libtorch reports a CUDA device.
#include "env/cuda_facts.h"

#include <dlfcn.h>

#include <initializer_list>
#include <string>

namespace detllm::internal {
namespace {

using nlohmann::json;

// The C entry points used, declared here so that no CUDA header is needed:
// their ABI has been stable since CUDA 10.
using IntOut = int (*)(int*);
using DeviceAttribute = int (*)(int* value, int attribute, int device);
using ErrorString = const char* (*)(int error);
using DriverInit = int (*)(unsigned flags);
using DeviceName = int (*)(char* name, int length, int device);
using DeviceMemory = int (*)(size_t* bytes, int device);
using LibraryProperty = int (*)(int type, int* value);

constexpr int kAttrMultiProcessorCount = 16;  // cudaDevAttrMultiProcessorCount
constexpr int kAttrComputeCapabilityMajor = 75;
constexpr int kAttrComputeCapabilityMinor = 76;
constexpr int kMajorVersion = 0, kMinorVersion = 1, kPatchLevel = 2;  // libraryPropertyType

// The library already loaded under one of `names` (libtorch's CUDA build loads
// them), else the first that loads; nullptr if none.
void* open_library(std::initializer_list<const char*> names, std::string& loaded) {
  for (int flags : {RTLD_NOW | RTLD_NOLOAD, RTLD_NOW | RTLD_LOCAL}) {
    for (const char* name : names) {
      if (void* handle = dlopen(name, flags)) {
        loaded = name;
        return handle;
      }
    }
  }
  return nullptr;
}

template <typename Function>
Function symbol(void* library, const char* name) {
  return library ? reinterpret_cast<Function>(dlsym(library, name)) : nullptr;
}

json device_json(void* runtime, void* driver, int index) {
  json device = {{"index", index}};
  auto attribute = symbol<DeviceAttribute>(runtime, "cudaDeviceGetAttribute");
  int major = 0, minor = 0, sms = 0;
  if (attribute && attribute(&major, kAttrComputeCapabilityMajor, index) == 0 &&
      attribute(&minor, kAttrComputeCapabilityMinor, index) == 0) {
    device["compute_capability"] = std::to_string(major) + "." + std::to_string(minor);
  }
  if (attribute && attribute(&sms, kAttrMultiProcessorCount, index) == 0) device["sm_count"] = sms;
  auto init = symbol<DriverInit>(driver, "cuInit");
  auto name = symbol<DeviceName>(driver, "cuDeviceGetName");
  auto memory = symbol<DeviceMemory>(driver, "cuDeviceTotalMem_v2");
  if (init && init(0) == 0) {
    char text[256] = {};
    if (name && name(text, sizeof text - 1, index) == 0) device["name"] = text;
    size_t bytes = 0;
    if (memory && memory(&bytes, index) == 0) device["memory_bytes"] = bytes;
  }
  return device;
}

}  // namespace

json cuda_facts(bool libtorch_has_cuda) {
  json facts = {{"cuda", {{"available", false}, {"device_count", 0}}},
                {"cublas", {{"version", nullptr}}},
                {"device", nullptr}};
  if (!libtorch_has_cuda) {
    facts["cuda"]["source"] = "libtorch (no CUDA device: the CUDA libraries were not loaded)";
    return facts;
  }
  std::string runtime_name, driver_name, cublas_name;
  void* runtime = open_library(
      {"libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0", "libcudart.so"}, runtime_name);
  void* driver = open_library({"libcuda.so.1", "libcuda.so"}, driver_name);
  if (!runtime) {
    facts["cuda"]["source"] = "libtorch (it sees a CUDA device, but the CUDA runtime did not load)";
    return facts;
  }
  int driver_version = 0, runtime_version = 0, count = 0;
  if (auto f = symbol<IntOut>(runtime, "cudaDriverGetVersion")) f(&driver_version);
  if (auto f = symbol<IntOut>(runtime, "cudaRuntimeGetVersion")) f(&runtime_version);
  auto device_count = symbol<IntOut>(runtime, "cudaGetDeviceCount");
  const int status = device_count ? device_count(&count) : -1;
  facts["cuda"] = {
      {"available", status == 0 && count > 0}, {"device_count", status == 0 ? count : 0},
      {"driver_version", driver_version},      {"runtime_version", runtime_version},
      {"runtime_library", runtime_name},       {"source", "CUDA runtime"}};
  if (status != 0) {
    auto error_string = symbol<ErrorString>(runtime, "cudaGetErrorString");
    facts["cuda"]["error"] = error_string ? error_string(status) : std::to_string(status);
  }
  if (void* cublas = open_library(
          {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"}, cublas_name)) {
    auto property = symbol<LibraryProperty>(cublas, "cublasGetProperty");
    int major = 0, minor = 0, patch = 0;
    if (property && property(kMajorVersion, &major) == 0 && property(kMinorVersion, &minor) == 0 &&
        property(kPatchLevel, &patch) == 0) {
      facts["cublas"] = {{"version", std::to_string(major) + "." + std::to_string(minor) + "." +
                                         std::to_string(patch)},
                         {"library", cublas_name}};
    }
  }
  if (status == 0 && count > 0) {
    json devices = json::array();
    for (int i = 0; i < count; ++i) devices.push_back(device_json(runtime, driver, i));
    facts["device"] = devices[0];
    facts["device"]["type"] = "cuda";
    facts["device"]["count"] = count;
    facts["device"]["all"] = devices;
  }
  return facts;
}

}  // namespace detllm::internal
