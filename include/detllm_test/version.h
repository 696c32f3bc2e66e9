// detllm::artifacts — version of the library and of the artifact schema it writes.
#ifndef DETLLM_TEST_VERSION_H_
#define DETLLM_TEST_VERSION_H_

namespace detllm {

// The library's version, written as `detllm_version` into every artifact.
inline constexpr char kVersion[] = "0.1.0";

// The artifact schema this library writes (detLLM's format 1.0). Within a major
// version fields are only added, never renamed or removed.
inline constexpr char kSchemaVersion[] = "1.0";

}  // namespace detllm

#endif  // DETLLM_TEST_VERSION_H_
