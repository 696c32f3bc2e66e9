// Internal: where in a model an ATen op runs ("h.3.mlp.c_fc"), for naming the
// first op that diverged. The built-in model marks its layers with OpScope;
// the op recorder reads the innermost mark. Costs two thread-local stores
// when nothing records.
#ifndef DETLLM_SRC_EXPLAIN_OP_SCOPE_H_
#define DETLLM_SRC_EXPLAIN_OP_SCOPE_H_

#include <string>

namespace detllm::internal {

class OpScope {
 public:
  // `part` must outlive the scope (a string literal); layer < 0: no layer.
  explicit OpScope(const char* part, int layer = -1);
  ~OpScope();
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  const char* previous_part_;
  int previous_layer_;
};

// "h.3.mlp.c_fc", "ln_f", or "" outside any scope.
std::string current_op_scope();

}  // namespace detllm::internal

#endif  // DETLLM_SRC_EXPLAIN_OP_SCOPE_H_
