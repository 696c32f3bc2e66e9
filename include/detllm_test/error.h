// detllm::artifacts — the one exception type the library throws for bad input and unmet requests.
#ifndef DETLLM_TEST_ERROR_H_
#define DETLLM_TEST_ERROR_H_

#include <stdexcept>
#include <string>

namespace detllm {

// Thrown for anything the caller can fix: a missing or corrupt model file, logits
// of the wrong shape, NaN logits, no prompts, batch size 0, a malformed trace, an
// unwritable output directory. The message names the problem in one line, e.g.
//
//   try { detllm::load_model("missing.pt"); }
//   catch (const detllm::Error& e) { std::cerr << e.what(); }
//   // -> "cannot load TorchScript model 'missing.pt': file does not exist"
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Thrown when a model produced NaN or infinite logits for a real (non-padding)
// row. The harness catches it and names the prompt: "NaN or infinite logits for
// prompt #1 \"Hello\" at generated token 3 (batch size 4, row 2)".
class NonFiniteLogits : public Error {
 public:
  NonFiniteLogits(int row, int step)
      : Error("NaN or infinite logits in batch row " + std::to_string(row) +
              " at generated token " + std::to_string(step)),
        row_(row),
        step_(step) {}
  int row() const { return row_; }
  int step() const { return step_; }

 private:
  int row_;
  int step_;
};

}  // namespace detllm

#endif  // DETLLM_TEST_ERROR_H_
