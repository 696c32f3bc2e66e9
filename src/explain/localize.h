// Internal: naming the first ATen op whose output differs between the two
// sides of a divergence, and how far apart each layer's output is, by running
// the prompt's batch on each side again with an OpRecorder, up to the
// divergent token.
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

struct Localization {
  // The first op that differs between the two sides (whole outputs when their
  // shapes agree, else the prompt's row of each, aligned at the end where left
  // padding makes a dimension longer), or nullopt with `why` saying why none
  // was found.
  std::optional<OpDivergence> op;
  std::string why;
  // For a model that records its layer outputs: each layer's drift in the
  // forward pass of the divergent token (the last one generated), or of the
  // first token where the re-runs chose differently; compared as the ops are.
  std::optional<LayerDrift> layer_drift;
  // For a mixture-of-experts model: the first of the prompt's tokens routed
  // to other experts on the two sides.
  std::optional<ExpertRoutingDivergence> expert_routing;

  // Into `report`: the routing, the op and the drift, or a note saying why no
  // op was named.
  void add_to(Report& report) const;
};

// Runs the model on each side with an OpRecorder, generating
// `config.max_new_tokens` tokens (up to the divergent one), and compares.
Localization localize(Generator& model, const LocalizationSide& left, const LocalizationSide& right,
                      const GenerationConfig& config);

// For a golden: per row of `batch`, per forward pass (the prefill, then one
// per generated token), the fingerprints of the computing ops' outputs (16
// hex digits of the SHA-256 of the row's shape, dtype and bytes), separated
// by spaces. Empty for a model whose ops are not observed (a callable).
std::vector<std::vector<std::string>> op_fingerprints(Generator& model,
                                                      const std::vector<TokenIds>& batch,
                                                      const GenerationConfig& config);

// The first op whose output differs from a golden's fingerprints for the
// prompt (`golden`, one string per forward pass, as op_fingerprints writes
// them), re-running `side` for `config.max_new_tokens` tokens. Only hashes
// are kept, so the op is named from this side's run and no |Δ| is measured.
Localization localize_against(Generator& model, const LocalizationSide& side,
                              const GenerationConfig& config,
                              const std::vector<std::string>& golden);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_EXPLAIN_LOCALIZE_H_
