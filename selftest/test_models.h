// Models for the self-tests: real TorchScript transformers that the suite
// writes itself (no committed binaries), correct or with a real defect, and
// Hugging Face checkpoints with random weights. Needs libtorch; the helpers
// that do not are in test_files.h.
#ifndef DETLLM_SELFTEST_TEST_MODELS_H_
#define DETLLM_SELFTEST_TEST_MODELS_H_

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "detllm_test/models.h"
#include "test_files.h"

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
  kPutOverwrites,   // put_ with duplicate indices: no deterministic kernel anywhere
  kThreadSum,       // adds a 4M-element float sum, rounded as the thread count splits it
  kStaleState,      // its MLP submodule adds the mean of its previous call's output
};

// Writes the model to `<dir>/<name>.pt` and returns the path.
std::string write_torchscript_model(const std::string& dir, Defect defect);

// A tiny GPT-2 checkpoint in a Hugging Face directory, as the tests make it:
// every parameter random (biases and norms too, so a misplaced one shows), a
// byte-level BPE vocabulary of the 256 byte symbols in GPT-2's id order, the
// merges below and "<|endoftext|>".
struct TinyGpt2 {
  bool transformer_prefix = true;  // names as GPT2LMHeadModel writes them
  bool untied_head = false;        // a separate lm_head.weight
  int64_t n_inner = 96;            // not GPT-2's default 4 * n_embd
  uint64_t seed = 1;
  // Merges, best first; vocab.json gets each merge's result.
  std::vector<std::pair<std::string, std::string>> merges = default_merges();
  static std::vector<std::pair<std::string, std::string>> default_merges();
};
void write_tiny_gpt2(const std::string& dir, const TinyGpt2& options = {});

// A tiny Llama-architecture checkpoint as transformers' save_pretrained
// writes it: config.json (from `config`, whose n_embd etc. give the shape),
// model.safetensors or `shards` shards and their index, a byte-level
// tokenizer.json (Llama 3's Split regex, a BOS token), and
// generation_config.json when `eos` is set. Every parameter is random, norm
// weights around 1 and biases included, stored in `dtype` (F32, BF16 or F16).
struct TinyLlama {
  BuiltinConfig config = default_config();
  std::string dtype = "F32";
  int shards = 1;
  std::vector<int64_t> eos;
  uint64_t seed = 7;
  static BuiltinConfig default_config();  // llama, 2 layers, width 32, 4/2 heads, untied
};
void write_tiny_llama(const std::string& dir, const TinyLlama& options = {});
}  // namespace detllm::testing

#endif  // DETLLM_SELFTEST_TEST_MODELS_H_
