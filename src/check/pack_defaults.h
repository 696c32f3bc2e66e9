// Internal: where a check whose options keep the default out_dir
// ("artifacts") writes its pack, and whether it keeps a passing one. Inside a
// GoogleTest test the gtest layer says: the test's artifact directory, kept
// on failure only (unless DETLLM_KEEP_ARTIFACTS=1), as the assertions do; a
// check() called in a test then behaves like one.
#ifndef DETLLM_SRC_CHECK_PACK_DEFAULTS_H_
#define DETLLM_SRC_CHECK_PACK_DEFAULTS_H_

#include <functional>
#include <optional>
#include <string>

#include "detllm_test/check.h"

namespace detllm::internal {

struct PackDefaults {
  std::string out_dir;
  bool keep_passing_pack = true;
};

// Set once by the gtest layer; returns nullopt outside a test.
void set_pack_defaults(std::function<std::optional<PackDefaults>()> provider);

// `options` with the default out_dir replaced as the provider says (only
// keep_passing_pack's default, true, is lowered; false stays false; run()
// writes its pack whatever it says).
CheckOptions with_pack_defaults(const CheckOptions& options);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_PACK_DEFAULTS_H_
