// Internal: records every ATen op a thread runs (libtorch's RecordFunction
// callbacks, with inputs and outputs): its name, where it ran (OpScope, or
// TorchScript's scope), the input shapes and a CPU copy of its first tensor
// output, so that two runs can be compared op by op.
#ifndef DETLLM_SRC_EXPLAIN_OP_RECORDER_H_
#define DETLLM_SRC_EXPLAIN_OP_RECORDER_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace detllm::internal {

struct OpRecord {
  std::string name;                       // "aten::addmm"
  std::string scope;                      // "h.0.mlp.c_fc", or ""
  std::vector<std::string> input_shapes;  // of the tensor inputs: "[4, 64]"
  at::Tensor output;                      // the first tensor output, on the CPU; undefined if none
};

// Records while it lives, on the constructing thread only. Stops (and says
// so, truncated()) after `max_bytes` of outputs.
class OpRecorder {
 public:
  explicit OpRecorder(int64_t max_bytes = int64_t{1} << 30);
  ~OpRecorder();
  OpRecorder(const OpRecorder&) = delete;
  OpRecorder& operator=(const OpRecorder&) = delete;

  const std::vector<OpRecord>& records() const { return records_; }
  bool truncated() const { return truncated_; }

  // Internal to the callbacks.
  void add(OpRecord record);

 private:
  uint64_t handle_ = 0;
  int64_t max_bytes_, bytes_ = 0;
  bool truncated_ = false;
  std::vector<OpRecord> records_;
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_EXPLAIN_OP_RECORDER_H_
