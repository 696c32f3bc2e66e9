// Internal: the call spec of an AOTInductor package, the pytree of
// (args, kwargs) torch.export serialized as JSON, read without libtorch (fuzzed).
#ifndef DETLLM_SRC_AOTI_CALL_SPEC_H_
#define DETLLM_SRC_AOTI_CALL_SPEC_H_

#include <cstddef>
#include <string>

namespace detllm::internal {

// How many tensors the package's model takes: the leaves of its input spec
// `[1, {"type": "builtins.tuple", "children_spec": [...]}]`, where a leaf has
// type null. Throws detllm::Error naming `where` for text that is not such a
// spec (or nests deeper than a forward's arguments ever do).
size_t call_spec_input_count(const std::string& in_spec, const std::string& where);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_AOTI_CALL_SPEC_H_
