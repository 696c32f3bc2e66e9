// Internal: records every ATen op a thread runs (libtorch's RecordFunction
// callbacks, with inputs and outputs): its name, where it ran (OpScope, or
// TorchScript's scope), the input shapes and a CPU copy of its first tensor
// output, so that two runs can be compared op by op; and the hidden state
// after each layer, for the layer drift.
#ifndef DETLLM_SRC_EXPLAIN_OP_RECORDER_H_
#define DETLLM_SRC_EXPLAIN_OP_RECORDER_H_

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "models/model_hooks.h"

namespace detllm::internal {

struct OpRecord {
  std::string name;                               // "aten::addmm"
  std::string scope;                              // "h.0.mlp.c_fc", or ""
  std::vector<std::vector<int64_t>> input_sizes;  // of the tensor inputs
  at::Tensor output;    // the first tensor output, on the CPU; undefined if none
  bool varies = false;  // run in a scope whose ops depend on the data (OpScope)
};

// A model's hidden state after one layer (models/model_hooks.h), on the CPU.
struct LayerOutput {
  std::string layer;  // "wte+wpe", "h.3", "lm_head"
  at::Tensor value;
};

// A mixture-of-experts router's choice in one layer of one forward pass, on
// the CPU: per token (batch-major rows), the experts chosen, in ascending
// order, and the router margin, the k-th largest router logit less the
// (k+1)-th (infinite when every expert is chosen): how near the choice was.
struct RoutingRecord {
  int layer = 0;
  at::Tensor experts;  // int64 [N, K]
  at::Tensor margins;  // float64 [N]
};

// Records while it lives, on the constructing thread only: the ops through
// libtorch's callbacks, the layers and passes through the model's hooks
// (models/model_hooks.h). Stops (and says so, truncated()) after `max_bytes`
// of outputs.
class OpRecorder final : private ForwardObserver {
 public:
  explicit OpRecorder(int64_t max_bytes = int64_t{1} << 30);
  ~OpRecorder();
  OpRecorder(const OpRecorder&) = delete;
  OpRecorder& operator=(const OpRecorder&) = delete;

  // What was recorded, moved out (the recorder keeps recording, from empty).
  std::vector<OpRecord> take_records() { return std::move(records_); }
  std::vector<LayerOutput> take_layer_outputs() { return std::move(layer_outputs_); }
  std::vector<RoutingRecord> take_routing() { return std::move(routing_); }
  // Per forward pass, where its records, layer outputs and routing start.
  const std::vector<size_t>& pass_starts() const { return pass_starts_; }
  const std::vector<size_t>& layer_pass_starts() const { return layer_pass_starts_; }
  const std::vector<size_t>& routing_pass_starts() const { return routing_pass_starts_; }
  bool truncated() const { return truncated_; }

  // Internal to the callbacks.
  void add(OpRecord record);

 private:
  void forward_pass_started() override;
  void layer_output(const char* part, int layer, const at::Tensor& value) override;
  void expert_routing(int layer, const at::Tensor& router_logits,
                      const at::Tensor& chosen) override;

  ForwardObserver* previous_observer_ = nullptr;
  uint64_t handle_ = 0;
  int64_t max_bytes_, bytes_ = 0;
  bool truncated_ = false;
  bool within_budget(const at::Tensor& t);

  std::vector<OpRecord> records_;
  std::vector<LayerOutput> layer_outputs_;
  std::vector<RoutingRecord> routing_;
  std::vector<size_t> pass_starts_, layer_pass_starts_, routing_pass_starts_;
};

}  // namespace detllm::internal

#endif  // DETLLM_SRC_EXPLAIN_OP_RECORDER_H_
