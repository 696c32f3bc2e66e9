// Internal: naming the first ATen op whose output differs between the two
// sides of a divergence, by running the prompt's batch on each side again with
// an OpRecorder, up to the divergent token.
#ifndef DETLLM_SRC_EXPLAIN_LOCALIZE_H_
#define DETLLM_SRC_EXPLAIN_LOCALIZE_H_

#include <optional>
#include <string>
#include <vector>

#include "detllm_test/generator.h"
#include "detllm_test/report.h"

namespace detllm::internal {

// One side: the batch the prompt ran in, its row there, the intra-op threads.
struct LocalizationSide {
  std::vector<TokenIds> batch;
  int row = 0;
  int threads = 0;  // 0: as they are
};

// The first op that differs between `left` and `right` (whole outputs when
// their shapes agree, else the prompt's row of each, aligned at the end where
// left padding makes a dimension longer), or nullopt with `why` saying why
// none was found.
std::optional<OpDivergence> first_divergent_op(Generator& model, const LocalizationSide& left,
                                               const LocalizationSide& right,
                                               const GenerationConfig& config, std::string& why);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_EXPLAIN_LOCALIZE_H_
