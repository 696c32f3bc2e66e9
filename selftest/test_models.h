// Models for the self-tests: real TorchScript transformers that the suite
// writes itself (no committed binaries), correct or with a real defect, and a
// temporary directory.
#ifndef DETLLM_SELFTEST_TEST_MODELS_H_
#define DETLLM_SELFTEST_TEST_MODELS_H_

#include <string>

// Runs `statement`, which must throw detllm::Error whose message contains `text`.
#define EXPECT_ERROR_MENTIONS(statement, text)         \
  try {                                                \
    statement;                                         \
    ADD_FAILURE() << #statement " did not throw";      \
  } catch (const ::detllm::Error& e) {                 \
    EXPECT_THAT(e.what(), ::testing::HasSubstr(text)); \
  }

namespace detllm::testing {

// What the TorchScript transformer does besides being a one-block GPT.
enum class Defect {
  kNone,            // correct masking and position ids
  kIgnoresPadding,  // the classic bug: attends to pad tokens, positions from 0
  kDropoutLeftOn,   // draws from the global RNG on every call (run variance)
  kTinyNoise,       // 1e-4 of global-RNG noise: logprobs change, tokens do not
  kNanAfter12,      // NaN logits once the sequence reaches 12 tokens
  kFlatLogits,      // returns [B*T, V] instead of [B, T, V]
  kTupleOutput,     // returns (logits, hidden)
  kNoMaskArgument,  // forward(input_ids) only
  kAtomicSum,       // adds an index_add_ sum whose float order follows CUDA atomics
};

// Writes the model to `<dir>/<name>.pt` and returns the path.
std::string write_torchscript_model(const std::string& dir, Defect defect);

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace detllm::testing

#endif  // DETLLM_SELFTEST_TEST_MODELS_H_
