// The op recorder: libtorch's RecordFunction callbacks (every ATen op with its
// inputs and outputs) and the models' hooks (layers, forward passes).
#include "explain/op_recorder.h"

#include <ATen/record_function.h>
#include <torch/csrc/jit/runtime/interpreter.h>

#include <algorithm>
#include <limits>
#include <memory>

#include "models/model_hooks.h"

namespace detllm::internal {
namespace {

// The recorder of this thread, and a guard: copying an output runs ATen ops,
// which must not be recorded themselves.
thread_local OpRecorder* active = nullptr;
thread_local bool inside_callback = false;

// A copy of `t` on the CPU, without autograd history, in one op where it can.
at::Tensor cpu_copy(const at::Tensor& t) {
  const at::Tensor plain = t.requires_grad() ? t.detach() : t;
  return plain.is_cpu() ? plain.clone() : plain.to(at::kCPU);
}

// Inside a TorchScript module: the submodule path of the running op, from
// the interpreter's call stack ("TOP(Model)::forward", "mlp(Mlp)::forward"
// -> "mlp"); "" at the top level and outside TorchScript.
std::string torchscript_scope() {
  std::string scope;
  const std::vector<std::string> frames = torch::jit::currentModuleHierarchy();
  for (size_t i = 1; i < frames.size(); ++i) {  // frames[0] is the top module
    const std::string& frame = frames[i];
    const std::string name = frame.substr(0, frame.find('('));
    if (!name.empty()) scope += (scope.empty() ? "" : ".") + name;
  }
  return scope;
}

// The inputs are only valid in the start callback (libtorch hands over a view
// of the interpreter's stack, which the op then consumes), so they are kept
// here, by reference, for the end callback.
struct InputsContext : at::ObserverContext {
  std::vector<at::Tensor> inputs;
};

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  if (active == nullptr || inside_callback) return nullptr;
  auto context = std::make_unique<InputsContext>();
  for (const c10::IValue& input : fn.inputs()) {
    if (input.isTensor() && input.toTensor().defined()) context->inputs.push_back(input.toTensor());
  }
  return context;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* context) {
  if (active == nullptr || inside_callback || context == nullptr) return;
  const std::vector<at::Tensor>& inputs = static_cast<InputsContext*>(context)->inputs;
  inside_callback = true;
  OpRecord record;
  record.name = fn.name();
  record.scope = current_op_scope();
  record.varies = current_op_scope_varies();
  if (record.scope.empty()) record.scope = torchscript_scope();
  for (const at::Tensor& input : inputs) record.input_sizes.push_back(input.sizes().vec());
  for (const c10::IValue& output : fn.outputs()) {
    if (!output.isTensor() || !output.toTensor().defined()) continue;
    const at::Tensor& t = output.toTensor();
    // A view aliases an input: its values are the input's (or not written
    // yet, for an out= buffer), and the op that computes them is recorded on
    // its own. An in-place op (uniform_, add_) aliases its input too, but its
    // result is a new value.
    const bool aliases_input = std::any_of(inputs.begin(), inputs.end(),
                                           [&](const at::Tensor& in) { return t.is_alias_of(in); });
    const std::string& name = record.name;
    const bool in_place = !name.empty() && name.back() == '_';  // its result is the value
    if (!aliases_input || in_place) record.output = cpu_copy(t);
    break;
  }
  active->add(std::move(record));
  inside_callback = false;
}

}  // namespace

OpRecorder::OpRecorder(int64_t max_bytes) : max_bytes_(max_bytes) {
  active = this;
  previous_observer_ = set_forward_observer(this);
  handle_ = at::addThreadLocalCallback(at::RecordFunctionCallback(on_start, on_end)
                                           .needsInputs(true)
                                           .needsOutputs(true)
                                           .scopes({at::RecordScope::FUNCTION}));
}

OpRecorder::~OpRecorder() {
  at::removeCallback(handle_);
  set_forward_observer(previous_observer_);
  active = nullptr;
}

bool OpRecorder::within_budget(const at::Tensor& t) {
  if (truncated_) return false;
  if (t.defined()) bytes_ += static_cast<int64_t>(t.numel() * t.element_size());
  truncated_ = bytes_ > max_bytes_;
  return !truncated_;
}

void OpRecorder::add(OpRecord record) {
  if (within_budget(record.output)) records_.push_back(std::move(record));
}

void OpRecorder::forward_pass_started() {
  pass_starts_.push_back(records_.size());
  layer_pass_starts_.push_back(layer_outputs_.size());
  routing_pass_starts_.push_back(routing_.size());
}

void OpRecorder::expert_routing(int layer, const at::Tensor& router_logits,
                                const at::Tensor& chosen) {
  if (inside_callback) return;
  inside_callback = true;  // the margins are explain's ops, not the model's
  RoutingRecord record;
  record.layer = layer;
  record.experts = std::get<0>(chosen.to(at::kCPU).sort(-1));
  const int64_t k = chosen.size(-1), experts = router_logits.size(-1);
  const at::Tensor logits = router_logits.to(at::kCPU, at::kDouble);
  if (k < experts) {
    const at::Tensor top = std::get<0>(logits.topk(k + 1, -1));
    record.margins = top.select(-1, k - 1) - top.select(-1, k);
  } else {
    record.margins =
        at::full({logits.size(0)}, std::numeric_limits<double>::infinity(), logits.options());
  }
  if (within_budget(record.experts)) routing_.push_back(std::move(record));
  inside_callback = false;
}

void OpRecorder::layer_output(const char* part, int layer, const at::Tensor& value) {
  if (inside_callback) return;
  inside_callback = true;  // the copy runs ATen ops, which are not the model's
  LayerOutput output;
  output.layer = layer < 0 ? part : std::string(part) + "." + std::to_string(layer);
  output.value = cpu_copy(value);
  if (within_budget(output.value)) layer_outputs_.push_back(std::move(output));
  inside_callback = false;
}

}  // namespace detllm::internal
