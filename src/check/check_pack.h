// Internal: the one writer of a pack's file set, for run(), check() and the
// golden check alike — every phase's trace, each run's environment,
// run_config with its replay block, the report in JSON, text and HTML.
#ifndef DETLLM_SRC_CHECK_CHECK_PACK_H_
#define DETLLM_SRC_CHECK_CHECK_PACK_H_

#include "check/check_run.h"
#include "detllm_test/repro_pack.h"

namespace detllm::internal {

// Writes the pack of `run` and moves it into place (run.result.pack_dir).
// run(): env.json, run_config.json, determinism_applied.json, trace.jsonl. A
// check adds each phase's trace and run's environment, the replay block and
// the report; a golden check the golden as it was (golden.jsonl,
// golden_env.json). When nothing ran (an unsupported request), the one
// environment and an empty trace.
void write_pack(PackWriter& pack, CheckRun& run);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_CHECK_PACK_H_
