// Counts the input tensors of an AOTInductor package's call spec, the JSON
// pytree torch.export writes, with the depth of the walk bounded.
#include "aoti/call_spec.h"

#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

// (args, kwargs) of tensors, tuples, lists and dicts: a few levels. The bound
// keeps the walk's recursion shallow whatever the file says.
constexpr int kMaxDepth = 32;

size_t count_leaves(const nlohmann::json& spec, int depth, const std::string& where) {
  if (depth > kMaxDepth) {
    throw Error(where + ": its input spec nests deeper than " + std::to_string(kMaxDepth));
  }
  if (!spec.is_object()) throw Error(where + ": its input spec has a node that is not an object");
  const auto type = spec.find("type");
  if (type == spec.end() || type->is_null()) return 1;  // a tensor
  size_t n = 0;
  const auto children = spec.find("children_spec");
  if (children == spec.end()) return 0;
  if (!children->is_array()) throw Error(where + ": its input spec's children_spec is not a list");
  for (const nlohmann::json& child : *children) n += count_leaves(child, depth + 1, where);
  return n;
}

}  // namespace

size_t call_spec_input_count(const std::string& in_spec, const std::string& where) {
  const nlohmann::json spec = internal::parse_json(in_spec);
  // [protocol version, tree]
  if (!spec.is_array() || spec.size() != 2) {
    throw Error(where + ": its call spec is not torch.export's [version, input tree]");
  }
  return count_leaves(spec[1], 0, where);
}

}  // namespace detllm::internal
