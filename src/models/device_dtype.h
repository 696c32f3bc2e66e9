// Internal: parsing the device and dtype a model runs in.
#ifndef DETLLM_SRC_MODELS_DEVICE_DTYPE_H_
#define DETLLM_SRC_MODELS_DEVICE_DTYPE_H_

#include <ATen/ATen.h>

#include <string>

namespace detllm::internal {

// Parses "cpu" / "cuda" / "cuda:1" and "float32" / "bfloat16" / "float16";
// throws detllm::Error for anything else or for CUDA on a machine without it.
at::Device parse_device(const std::string& name);
at::ScalarType parse_dtype(const std::string& name);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_MODELS_DEVICE_DTYPE_H_
