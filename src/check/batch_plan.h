// Internal: how a check lays its prompts out in batches — in order, filled up
// with seeded filler prompts, or one prompt alone among fillers (needle mode).
#ifndef DETLLM_SRC_CHECK_BATCH_PLAN_H_
#define DETLLM_SRC_CHECK_BATCH_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "detllm_test/tokenizer.h"
#include "explain/localize.h"

namespace detllm::internal {

// A prompt ready to run.
struct Request {
  TokenIds ids;
  std::string ids_hash;  // token_ids_hash(ids)
  std::string id;
  int index = 0;
};

// A filler prompt for a batch slot no real prompt fills: seeded, made of tokens
// the real prompts use (so valid for the model), and of another length than
// theirs, alternately longer (so real prompts get padded) and shorter.
TokenIds filler(const std::string& key, int slot, const std::vector<Request>& real);

// One batch to run: each slot holds a request's index, or -1 for a filler.
struct BatchPlan {
  std::vector<int> slots;
  std::string filler_key;  // seeds the fillers
};

// The plan's batch as token ids: its requests' and its fillers'.
std::vector<TokenIds> batch_ids(const BatchPlan& plan, const std::vector<Request>& requests);

// The batch of `plans` that holds request `r`, and r's row in it, for
// localisation at `threads` intra-op threads (0: as they are).
LocalizationSide side_of(const std::vector<BatchPlan>& plans, int r,
                         const std::vector<Request>& requests, int threads);

// Prompts in order, `batch_size` at a time; the last batch is filled up.
std::vector<BatchPlan> plan_in_order(size_t requests, int batch_size, uint64_t seed);

// Needle mode: every prompt alone among fillers, in a batch of seeded random
// size (2..max_batch_size) at a seeded random position.
std::vector<BatchPlan> plan_needles(size_t requests, int trial, int max_batch_size, uint64_t seed);

}  // namespace detllm::internal

#endif  // DETLLM_SRC_CHECK_BATCH_PLAN_H_
