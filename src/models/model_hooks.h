// Internal: the hooks a model offers whoever observes its forward passes (the
// op recorder of src/explain/ attaches to them; models never call explain/):
// where in the model an ATen op runs ("h.3.mlp.c_fc"), the hidden state after
// each layer, and where each forward pass starts. Costs a thread-local read or
// two when nothing observes.
#ifndef DETLLM_SRC_MODELS_MODEL_HOOKS_H_
#define DETLLM_SRC_MODELS_MODEL_HOOKS_H_

#include <ATen/ATen.h>

#include <string>

namespace detllm::internal {

// Marks the ops run while it lives as running in `part` (of `layer`). The
// built-in model marks its layers; the op recorder reads the innermost mark.
// A part whose ops depend on the data (`varies`: one set per expert a batch
// happens to route tokens to) is marked so, and localisation leaves its ops
// out of the sequences it aligns between two runs.
class OpScope {
 public:
  // `part` must outlive the scope (a string literal); layer < 0: no layer.
  explicit OpScope(const char* part, int layer = -1, bool varies = false);
  ~OpScope();
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  const char* previous_part_;
  int previous_layer_;
  bool previous_varies_;
};

// "h.3.mlp.c_fc", "ln_f", or "" outside any scope.
std::string current_op_scope();
// Whether the innermost scope's ops depend on the data (OpScope's `varies`).
bool current_op_scope_varies();

// What a model tells the observer of this thread's forward passes.
class ForwardObserver {
 public:
  virtual ~ForwardObserver() = default;
  // Before each forward pass (the prefill, then one per generated token).
  virtual void forward_pass_started() = 0;
  // After each layer ("h", 3) or named stage ("lm_head", -1).
  virtual void layer_output(const char* part, int layer, const at::Tensor& value) = 0;
  // After a mixture-of-experts router of `layer` chose: per token of the pass
  // (batch-major rows), its router logits [N, E] and chosen experts [N, K].
  virtual void expert_routing(int layer, const at::Tensor& router_logits,
                              const at::Tensor& chosen) {}
};

// The observer of this thread (nullptr: none); returns the previous one.
ForwardObserver* set_forward_observer(ForwardObserver* observer);

// Called by the decoding loop before each forward pass, so that an observer
// can tell the records of each token apart.
void mark_forward_pass();
// Called by a model after each layer or named stage of a forward pass, so that
// two runs' hidden states can be compared layer by layer.
void record_layer_output(const char* part, int layer, const at::Tensor& value);
// Called by a mixture-of-experts layer after its router chose, so that two
// runs' expert choices can be compared token by token.
void record_expert_routing(int layer, const at::Tensor& router_logits, const at::Tensor& chosen);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_MODELS_MODEL_HOOKS_H_
