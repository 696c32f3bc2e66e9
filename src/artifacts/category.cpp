// The failure categories' names, as report.json writes them: one entry per
// enumerator of category.h, in its order.
#include "detllm_test/category.h"

#include <utility>

#include "detllm_test/error.h"

namespace detllm {
namespace {

constexpr std::pair<Category, const char*> kCategoryNames[] = {
    {Category::kPass, "PASS"},
    {Category::kGenContextMismatch, "GEN_CONTEXT_MISMATCH"},
    {Category::kTokenizationMismatch, "TOKENIZATION_MISMATCH"},
    {Category::kRunVarianceFixedBatch, "RUN_VARIANCE_FIXED_BATCH"},
    {Category::kBatchVariance, "BATCH_VARIANCE"},
    {Category::kScoreVariance, "SCORE_VARIANCE"},
    {Category::kEnvMismatch, "ENV_MISMATCH"},
    {Category::kUnsupportedRequest, "UNSUPPORTED_REQUEST"},
    {Category::kGoldenMismatch, "GOLDEN_MISMATCH"},
    {Category::kThreadVariance, "THREAD_VARIANCE"},
    {Category::kPrefillDecodeMismatch, "PREFILL_DECODE_MISMATCH"},
};
static_assert(sizeof(kCategoryNames) / sizeof(kCategoryNames[0]) ==
                  static_cast<size_t>(Category::kPrefillDecodeMismatch) + 1,
              "every Category has its name here");

}  // namespace

std::string to_string(Category category) {
  for (const auto& [value, name] : kCategoryNames) {
    if (value == category) return name;
  }
  return "UNKNOWN";
}

std::ostream& operator<<(std::ostream& os, Category category) { return os << to_string(category); }

Category category_from_string(const std::string& name) {
  if (name == "NONE") return Category::kPass;  // what detllm_test 0.1 wrote for PASS
  for (const auto& [value, known] : kCategoryNames) {
    if (name == known) return value;
  }
  throw Error("unknown failure category '" + name + "'");
}

}  // namespace detllm
