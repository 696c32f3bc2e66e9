// detllm::core — ready-made Generators: the built-in reference transformer, TorchScript
// archives, and any C++ callable.
#ifndef DETLLM_TEST_MODELS_H_
#define DETLLM_TEST_MODELS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "detllm_test/generator.h"

namespace detllm {

// GPT-2's byte-level BPE tokenizer from a Hugging Face directory's vocab.json
// and merges.txt (without them, its tokenizer.json, when that holds a
// byte-level BPE): bytes mapped to printable characters, GPT-2's
// pre-tokenization (contractions, letters, numbers, other symbols, spaces),
// merges by rank; exact on any UTF-8 input (invalid UTF-8 is tokenized byte by
// byte). "<|endoftext|>" in the text is the special token when the vocabulary
// has it. Its id is "gpt2-bpe:" and 16 hex digits of the SHA-256 of the files
// read, so traces made with different vocabularies never compare equal.
std::shared_ptr<const Tokenizer> load_gpt2_tokenizer(const std::string& directory);

// Where and in which precision a model runs. `device` is "cpu", "cuda" or
// "cuda:N"; `dtype` is "float32", "bfloat16" or "float16".
struct ModelOptions {
  std::string device = "cpu";
  std::string dtype = "float32";
};

// Shape of the built-in reference transformer: GPT-2's architecture, with the
// field names of GPT-2's config.json.
struct BuiltinConfig {
  std::string preset = "custom";
  int64_t vocab_size = 256;
  int64_t n_positions = 256;
  int64_t n_embd = 64;
  int64_t n_layer = 2;
  int64_t n_head = 2;
  double layer_norm_epsilon = 1e-5;
  int64_t n_inner = 0;  // width of the MLP; 0 means 4 * n_embd
  // "gelu_new" (GPT-2's tanh approximation, also "gelu_pytorch_tanh") or "gelu".
  std::string activation_function = "gelu_new";
  // Weights are drawn from N(0, init_std^2) with this seed, so a preset needs no
  // download and is the same on every machine and device. The presets use a
  // larger init_std than GPT-2's 0.02 so that random blocks mix the sequence
  // instead of echoing the last token.
  uint64_t weight_seed = 0;
  double init_std = 0.02;
  // Standard deviation of the token embeddings (which are also the LM head):
  // larger than GPT-2's 0.02 so that random-weight logits have clear winners.
  double embedding_std = 1.0;

  // `tiny`: 2 layers, width 64, byte vocabulary; a check runs in milliseconds.
  static BuiltinConfig tiny();
  // `small`: GPT-2-small shape (12 layers, 12 heads, width 768, 50257 tokens).
  static BuiltinConfig small();
  // The preset named `name` ("tiny" or "small"); throws detllm::Error otherwise.
  static BuiltinConfig preset_named(const std::string& name);
};

// The built-in reference transformer, an exact GPT-2: token and position
// embeddings, pre-norm blocks of causal multi-head attention and a GELU MLP, a
// final norm and a tied LM head, with a KV cache and left padding (attention
// mask and position ids) done right. With random weights from
// config.weight_seed and the byte tokenizer; see load_gpt2_model for real ones.
//
//   auto model = detllm::make_builtin_model(detllm::BuiltinConfig::tiny());
std::unique_ptr<Generator> make_builtin_model(const BuiltinConfig& config,
                                              const ModelOptions& options = {});

// Saves the built-in model's weights (a TorchScript-readable archive of named
// tensors) and loads them back; loading checks every tensor's shape.
void save_builtin_weights(const Generator& builtin_model, const std::string& path);
std::unique_ptr<Generator> load_builtin_weights(const std::string& path,
                                                const BuiltinConfig& config,
                                                const ModelOptions& options = {});

// A GPT-2-family checkpoint in a local Hugging Face directory (gpt2, distilgpt2
// and their fine-tunes): config.json, model.safetensors, vocab.json and
// merges.txt (or tokenizer.json), run by the built-in transformer with GPT-2's
// byte-level BPE tokenizer. Every tensor is checked against the config;
// run_config.json records each file's SHA-256.
//
//   auto model = detllm::load_gpt2_model("models/distilgpt2");
std::unique_ptr<Generator> load_gpt2_model(const std::string& directory,
                                           const ModelOptions& options = {});

// Writes the built-in model as a GPT-2 checkpoint that load_gpt2_model and
// transformers' GPT2LMHeadModel.from_pretrained read: config.json and
// model.safetensors (add vocab.json and merges.txt for a tokenizer).
void save_gpt2_checkpoint(const Generator& builtin_model, const std::string& directory);

// A TorchScript archive whose `forward(input_ids[, attention_mask])` returns
// logits [B, T, V], or a tuple/list/dict whose first value is that. Prompts are
// left-padded; there is no cache, so each step re-runs the whole sequence.
//
//   auto model = detllm::load_torchscript_model("model.pt");
std::unique_ptr<Generator> load_torchscript_model(
    const std::string& path, const ModelOptions& options = {},
    std::shared_ptr<const Tokenizer> tokenizer = byte_tokenizer());

// Any other engine: a function that generates for a batch. Describe it with
// `info` (set capabilities.logprobs = false if it cannot give log-probabilities,
// capabilities.honours_controls = false if libtorch's controls do not reach it).
using GenerateFunction = std::function<std::vector<Generation>(const std::vector<TokenIds>& batch,
                                                               const GenerationConfig& config)>;
// `score`, when given, scores a sequence in one forward pass (Generator::score),
// so EXPECT_PREFILL_MATCHES_DECODE can compare the engine's decoding with it.
using ScoreFunction = std::function<SequenceScores(const TokenIds& sequence, size_t prompt_length)>;
std::unique_ptr<Generator> make_callable_model(
    GenerateFunction generate, ModelInfo info,
    std::shared_ptr<const Tokenizer> tokenizer = byte_tokenizer(), ScoreFunction score = {});

// Why a model with `options` cannot run on this machine (no CUDA in this
// libtorch, no such GPU, a dtype the device cannot compute in), or "" if it can.
std::string unsupported_reason(const ModelOptions& options);

// Loads a model by name: "builtin:tiny", "builtin:small", a directory holding a
// GPT-2 checkpoint (load_gpt2_model), or a TorchScript file.
std::unique_ptr<Generator> load_model(const std::string& spec, const ModelOptions& options = {});

}  // namespace detllm

#endif  // DETLLM_TEST_MODELS_H_
