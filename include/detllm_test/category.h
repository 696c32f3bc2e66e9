// detllm::artifacts — the failure vocabulary: why a check, a diff or a golden
// comparison failed, with the names report.json and detLLM use.
#ifndef DETLLM_TEST_CATEGORY_H_
#define DETLLM_TEST_CATEGORY_H_

#include <ostream>
#include <string>

namespace detllm {

// Why a check failed (report.json's `category`); kPass ("PASS", as detLLM
// writes it) when nothing did.
enum class Category {
  kPass,
  kGenContextMismatch,     // the traces are not of the same requests/decoding
  kTokenizationMismatch,   // input ids or tokenizer differ
  kRunVarianceFixedBatch,  // tokens differ between runs at one batch size
  kBatchVariance,          // tokens differ between batch sizes
  kScoreVariance,          // tokens equal, logprobs not bitwise equal (tier 2)
  kEnvMismatch,            // the environment changed between runs
  kUnsupportedRequest,     // a strict requirement the backend cannot meet
  kGoldenMismatch,         // the outputs differ from a golden file's (golden.h)
  kThreadVariance,         // tokens differ between intra-op CPU thread counts
  kPrefillDecodeMismatch,  // incremental decoding differs from one pass over the sequence
};

// "PASS", "GEN_CONTEXT_MISMATCH", ... as written in report.json.
std::string to_string(Category category);
// The inverse ("NONE", the 0.1 name of PASS, too); throws detllm::Error for
// an unknown name.
Category category_from_string(const std::string& name);
// Prints the name, so that GoogleTest shows categories readably.
std::ostream& operator<<(std::ostream& os, Category category);

}  // namespace detllm

#endif  // DETLLM_TEST_CATEGORY_H_
