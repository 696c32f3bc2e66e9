// The hooks a model offers an observer: op scopes, layer outputs, forward passes
// (thread-local; one read when nothing observes).
#include "models/model_hooks.h"

namespace detllm::internal {
namespace {

thread_local const char* current_part = nullptr;
thread_local int current_layer = -1;
thread_local bool current_varies = false;
thread_local ForwardObserver* observer = nullptr;

}  // namespace

OpScope::OpScope(const char* part, int layer, bool varies)
    : previous_part_(current_part),
      previous_layer_(current_layer),
      previous_varies_(current_varies) {
  current_part = part;
  current_layer = layer;
  current_varies = varies;
}

OpScope::~OpScope() {
  current_part = previous_part_;
  current_layer = previous_layer_;
  current_varies = previous_varies_;
}

bool current_op_scope_varies() { return current_varies; }

std::string current_op_scope() {
  if (current_part == nullptr) return "";
  if (current_layer < 0) return current_part;
  return "h." + std::to_string(current_layer) + "." + current_part;
}

ForwardObserver* set_forward_observer(ForwardObserver* next) {
  ForwardObserver* previous = observer;
  observer = next;
  return previous;
}

void mark_forward_pass() {
  if (observer != nullptr) observer->forward_pass_started();
}

void record_layer_output(const char* part, int layer, const at::Tensor& value) {
  if (observer != nullptr) observer->layer_output(part, layer, value);
}

void record_expert_routing(int layer, const at::Tensor& router_logits, const at::Tensor& chosen) {
  if (observer != nullptr) observer->expert_routing(layer, router_logits, chosen);
}

}  // namespace detllm::internal
