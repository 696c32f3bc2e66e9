// Internal: a check's repro pack — every phase's trace, each run's
// environment, run_config with its replay block, the report in JSON, text and
// HTML.
#ifndef DETLLM_SRC_CHECK_CHECK_PACK_H_
#define DETLLM_SRC_CHECK_CHECK_PACK_H_

#include <nlohmann/json.hpp>
#include <vector>

#include "check/phases.h"
#include "detllm_test/check.h"
#include "detllm_test/repro_pack.h"

namespace detllm::internal {

// Writes the pack of a check and moves it into place (result.pack_dir).
// `found` is the phase of report.first_found() (nullptr: none); `envs` holds
// one snapshot per run, or one when nothing ran (an unsupported request).
void write_check_pack(PackWriter& pack, Generator& model, const std::vector<Prompt>& prompts,
                      const std::vector<Request>& requests, const CheckOptions& options,
                      const std::vector<Phase>& phases, const std::vector<nlohmann::json>& envs,
                      const Phase* found, CheckResult& result);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_CHECK_PACK_H_
