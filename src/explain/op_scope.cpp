#include "explain/op_scope.h"

namespace detllm::internal {
namespace {

thread_local const char* current_part = nullptr;
thread_local int current_layer = -1;

}  // namespace

OpScope::OpScope(const char* part, int layer)
    : previous_part_(current_part), previous_layer_(current_layer) {
  current_part = part;
  current_layer = layer;
}

OpScope::~OpScope() {
  current_part = previous_part_;
  current_layer = previous_layer_;
}

std::string current_op_scope() {
  if (current_part == nullptr) return "";
  if (current_layer < 0) return current_part;
  return "h." + std::to_string(current_layer) + "." + current_part;
}

}  // namespace detllm::internal
