// Internal: validating artifacts against the shipped JSON Schemas.
#ifndef DETLLM_SRC_ARTIFACTS_SCHEMA_CHECK_H_
#define DETLLM_SRC_ARTIFACTS_SCHEMA_CHECK_H_

#include <string>
#include <vector>

namespace detllm::internal {

// Validates every JSON artifact and trace row of the pack at `pack_dir`, or the
// one artifact file `path`, against schemas/detllm-1.0. Returns the problems,
// each "file: where: what"; empty when everything validates. Throws
// detllm::Error when validation is not available in this build or the schemas
// cannot be found.
std::vector<std::string> validate_pack(const std::string& pack_dir);
std::vector<std::string> validate_file(const std::string& path);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_ARTIFACTS_SCHEMA_CHECK_H_
