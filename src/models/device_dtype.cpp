// Parsing the device and dtype a model runs in, refusing what this machine or
// libtorch cannot do.
#include "models/device_dtype.h"

#include "detllm_test/error.h"
#include "detllm_test/models.h"

namespace detllm::internal {

at::Device parse_device(const std::string& name) {
  at::Device device(at::kCPU);
  try {
    device = at::Device(name);
  } catch (const c10::Error&) {
    throw Error("unknown device '" + name + "'; expected cpu, cuda or cuda:N");
  }
  if (device.is_cuda()) {
    if (!at::hasCUDA()) {
      throw Error("device '" + name + "' requested, but this libtorch build has no CUDA");
    }
    const auto count = static_cast<int64_t>(at::getNumGPUs());
    if (count == 0) throw Error("device '" + name + "' requested, but no GPU is visible");
    if (device.has_index() && device.index() >= count) {
      throw Error("device '" + name + "' requested, but only " + std::to_string(count) +
                  " GPU(s) are visible");
    }
  } else if (!device.is_cpu()) {
    throw Error("unsupported device '" + name + "'; expected cpu, cuda or cuda:N");
  }
  return device;
}

at::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32" || name == "fp32" || name == "float") return at::kFloat;
  if (name == "bfloat16" || name == "bf16") return at::kBFloat16;
  if (name == "float16" || name == "fp16" || name == "half") return at::kHalf;
  if (name == "float64" || name == "fp64" || name == "double") return at::kDouble;
  throw Error("unsupported dtype '" + name + "'; expected float32, bfloat16 or float16");
}

}  // namespace detllm::internal

namespace detllm {

std::string unsupported_reason(const ModelOptions& options) {
  try {
    const at::Device device = internal::parse_device(options.device);
    const at::ScalarType dtype = internal::parse_dtype(options.dtype);
    // Some builds lack kernels for a dtype on a device (float16 matmul on CPU in
    // libtorch 1.13): try the ops a transformer needs.
    at::Tensor x = at::ones({2, 2}, at::TensorOptions().device(device).dtype(dtype));
    at::layer_norm(at::matmul(x, x), {2}).softmax(-1).sum().item<float>();
    return "";
  } catch (const Error& e) {
    return e.what();
  } catch (const c10::Error& e) {
    return options.dtype + " on " + options.device + " is not supported by this libtorch: " +
           std::string(e.what_without_backtrace()).substr(0, 120);
  }
}

}  // namespace detllm
