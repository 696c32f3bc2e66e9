// Batch plans: prompts in order filled up with seeded fillers, or each prompt
// alone among fillers (needle mode), and the fillers themselves.
#include "check/batch_plan.h"

#include <algorithm>
#include <cstdint>
#include <random>

#include "artifacts/sha256.h"
#include "detllm_test/error.h"

namespace detllm::internal {

TokenIds filler(const std::string& key, int slot, const std::vector<Request>& real) {
  std::mt19937_64 rng(
      std::stoull(internal::sha256_hex("filler:" + key + ":" + std::to_string(slot)).substr(0, 16),
                  nullptr, 16));
  size_t longest = 0, shortest = SIZE_MAX;
  TokenIds pool;
  for (const Request& r : real) {
    longest = std::max(longest, r.ids.size());
    shortest = std::min(shortest, r.ids.size());
    pool.insert(pool.end(), r.ids.begin(), r.ids.end());
  }
  const size_t length =
      slot % 2 == 0 ? longest + 1 + rng() % 8 : std::max<size_t>(1, shortest / 2 + rng() % 2);
  TokenIds ids(length);
  for (int64_t& id : ids) id = pool[rng() % pool.size()];
  return ids;
}

std::vector<TokenIds> batch_ids(const BatchPlan& plan, const std::vector<Request>& requests) {
  std::vector<TokenIds> batch;
  for (size_t slot = 0; slot < plan.slots.size(); ++slot) {
    const int r = plan.slots[slot];
    batch.push_back(r >= 0 ? requests[r].ids
                           : filler(plan.filler_key, static_cast<int>(slot), requests));
  }
  return batch;
}

LocalizationSide side_of(const std::vector<BatchPlan>& plans, int r,
                         const std::vector<Request>& requests, int threads) {
  for (const BatchPlan& plan : plans) {
    for (size_t slot = 0; slot < plan.slots.size(); ++slot) {
      if (plan.slots[slot] == r)
        return {batch_ids(plan, requests), static_cast<int>(slot), threads};
    }
  }
  throw Error("internal: prompt #" + std::to_string(r) + " is in no planned batch");
}

std::vector<BatchPlan> plan_in_order(size_t requests, int batch_size, uint64_t seed) {
  std::vector<BatchPlan> plans;
  for (size_t first = 0; first < requests; first += batch_size) {
    BatchPlan plan;
    plan.filler_key = std::to_string(seed) + ":" + std::to_string(batch_size) + ":" +
                      std::to_string(plans.size());
    for (int slot = 0; slot < batch_size; ++slot) {
      plan.slots.push_back(first + slot < requests ? static_cast<int>(first + slot) : -1);
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

std::vector<BatchPlan> plan_needles(size_t requests, int trial, int max_batch_size, uint64_t seed) {
  const std::string key = "needle:" + std::to_string(seed) + ":" + std::to_string(trial);
  std::mt19937_64 rng(std::stoull(internal::sha256_hex(key).substr(0, 16), nullptr, 16));
  std::vector<BatchPlan> plans;
  for (size_t r = 0; r < requests; ++r) {
    const int size =
        max_batch_size <= 2 ? max_batch_size : 2 + static_cast<int>(rng() % (max_batch_size - 1));
    BatchPlan plan;
    plan.filler_key = key + ":" + std::to_string(r);
    plan.slots.assign(size, -1);
    plan.slots[rng() % size] = static_cast<int>(r);
    plans.push_back(std::move(plan));
  }
  return plans;
}

}  // namespace detllm::internal
