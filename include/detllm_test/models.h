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

// The tokenizer of a Hugging Face directory, as transformers' AutoTokenizer
// reads it: tokenizer.json (byte-level BPE with the pre-tokenizer it declares,
// Llama 3's and Qwen2's Split regexes included; SentencePiece-style BPE with
// byte fallback, as Llama 2, Mistral and TinyLlama ship it), else
// vocab.json + merges.txt (GPT-2); a tokenizer.model alone is refused. Added
// and special tokens are matched first; encode() adds what the file's
// post-processor adds (Llama's BOS token); decode() runs the file's decoder. Its id is the kind and 16 hex
// digits of the SHA-256 of the files read. See docs/models.md.
std::shared_ptr<const Tokenizer> load_hf_tokenizer(const std::string& directory);

// Where and in which precision a model runs. `device` is "cpu", "cuda" or
// "cuda:N"; `dtype` is "float32", "bfloat16" or "float16".
struct ModelOptions {
  std::string device = "cpu";
  std::string dtype = "float32";
};

// How rotary position embeddings stretch beyond the trained context, as
// config.json's rope_scaling (Llama architecture only).
struct RopeScaling {
  // "default" (none), "linear" (positions divided by factor), "dynamic" (NTK:
  // the base grows once a forward pass reaches past n_positions) or "llama3"
  // (Llama 3.1's per-frequency blend).
  std::string type = "default";
  double factor = 1.0;
  double low_freq_factor = 1.0;                     // llama3
  double high_freq_factor = 4.0;                    // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3
};

// Shape of the built-in reference transformer, with the field names of GPT-2's
// config.json. model_type picks the blocks: "gpt2" (learned positions,
// LayerNorm, GELU MLP), or "llama", "mistral" and "qwen2" (rotary positions,
// RMSNorm, grouped-query attention, SwiGLU MLP), whose own config.json names
// map onto these fields (hidden_size -> n_embd, num_hidden_layers -> n_layer,
// intermediate_size -> n_inner, rms_norm_eps -> layer_norm_epsilon, ...).
struct BuiltinConfig {
  std::string preset = "custom";
  std::string model_type = "gpt2";
  int64_t vocab_size = 256;
  int64_t n_positions = 256;
  int64_t n_embd = 64;
  int64_t n_layer = 2;
  int64_t n_head = 2;
  double layer_norm_epsilon = 1e-5;
  int64_t n_inner = 0;  // width of the MLP; 0 means 4 * n_embd
  // "gelu_new" (GPT-2's tanh approximation, also "gelu_pytorch_tanh") or
  // "gelu" for GPT-2; "silu" for the Llama architecture.
  std::string activation_function = "gelu_new";
  // The head is the token embedding (GPT-2 always; Llama-architecture configs
  // say so in tie_word_embeddings).
  bool tie_word_embeddings = true;

  // Llama architecture only.
  int64_t n_kv_head = 0;  // num_key_value_heads (grouped-query attention); 0: n_head
  int64_t head_dim = 0;   // 0: n_embd / n_head
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool attention_bias = false;         // biases on q, k and v (Qwen2; Llama's attention_bias)
  bool attention_output_bias = false;  // a bias on o_proj (Llama's attention_bias)
  // Mistral: each position attends to at most this many latest positions
  // (itself included); 0: all of them.
  int64_t sliding_window = 0;

  // Weights are drawn from N(0, init_std^2) with this seed, so a preset needs no
  // download and is the same on every machine and device. The presets use a
  // larger init_std than GPT-2's 0.02 so that random blocks mix the sequence
  // instead of echoing the last token.
  uint64_t weight_seed = 0;
  double init_std = 0.02;
  // Standard deviation of the token embeddings (which are also the LM head):
  // larger than GPT-2's 0.02 so that random-weight logits have clear winners.
  double embedding_std = 1.0;

  // True for llama, mistral and qwen2.
  bool is_llama_architecture() const {
    return model_type == "llama" || model_type == "mistral" || model_type == "qwen2";
  }

  // `tiny`: 2 layers, width 64, byte vocabulary; a check runs in milliseconds.
  static BuiltinConfig tiny();
  // `small`: GPT-2-small shape (12 layers, 12 heads, width 768, 50257 tokens).
  static BuiltinConfig small();
  // `llama-tiny`: the Llama architecture at tiny's size (2 layers, width 64, 4
  // query and 2 key/value heads, untied head, byte vocabulary).
  static BuiltinConfig llama_tiny();
  // `llama-small`: SmolLM-135M's shape (30 layers, width 576, 9 query and 3
  // key/value heads, MLP 1536, 49152 tokens, tied head).
  static BuiltinConfig llama_small();
  // The preset named `name` ("tiny", "small", "llama-tiny" or "llama-small");
  // throws detllm::Error otherwise.
  static BuiltinConfig preset_named(const std::string& name);
};

// The built-in reference transformer: an exact GPT-2 (token and position
// embeddings, pre-norm blocks of causal multi-head attention and a GELU MLP, a
// final LayerNorm and a tied head) or an exact Llama (rotary positions,
// RMSNorm in float32, grouped-query attention, SwiGLU, tied or untied head),
// with a KV cache and left padding (attention mask and position ids) done
// right. With random weights from config.weight_seed and the byte tokenizer;
// see load_hf_model for real ones.
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

// A checkpoint in a local Hugging Face directory, run by the built-in
// transformer: model_type gpt2 (gpt2, distilgpt2), llama (Llama 2 and 3,
// SmolLM, TinyLlama), mistral or qwen2 (Qwen2, Qwen2.5). Reads config.json,
// model.safetensors or model.safetensors.index.json and its shards (F32, BF16
// or F16, converted to options.dtype), generation_config.json (its
// eos_token_id become ModelInfo::eos_token_ids) and the tokenizer
// (load_hf_tokenizer; GPT-2's for gpt2). Every tensor is checked against the
// config, and settings it does not implement are refused by name;
// run_config.json records each file's SHA-256.
//
//   auto model = detllm::load_hf_model("models/Qwen2.5-0.5B-Instruct");
std::unique_ptr<Generator> load_hf_model(const std::string& directory,
                                         const ModelOptions& options = {});

// load_hf_model for GPT-2-family checkpoints only; refuses other model types.
std::unique_ptr<Generator> load_gpt2_model(const std::string& directory,
                                           const ModelOptions& options = {});

// Writes the built-in model as a checkpoint that load_hf_model and
// transformers' AutoModelForCausalLM.from_pretrained read: config.json and
// model.safetensors (add a tokenizer's files for a tokenizer).
void save_hf_checkpoint(const Generator& builtin_model, const std::string& directory);

// A TorchScript archive whose `forward(input_ids[, attention_mask])` returns
// logits [B, T, V], or a tuple/list/dict whose first value is that. Prompts are
// left-padded; there is no cache, so each step re-runs the whole sequence.
// TorchScript is deprecated upstream (PyTorch 2.11): new models should be
// AOTInductor packages (load_aoti_model).
//
//   auto model = detllm::load_torchscript_model("model.pt");
std::unique_ptr<Generator> load_torchscript_model(
    const std::string& path, const ModelOptions& options = {},
    std::shared_ptr<const Tokenizer> tokenizer = byte_tokenizer());

// An AOTInductor package (.pt2, made by torch._inductor.aoti_compile_and_package
// from torch.export.export, the deployment path upstream points to now that
// TorchScript is deprecated) whose model is forward(input_ids, attention_mask)
// -> logits [B, T, V]. Export it with torch.export.Dim for batch and sequence so
// that every batch size and length runs. It computes in the device and dtype it
// was compiled for: `options` must name them. A package made by another torch
// version, for another device, or with other inputs is refused in one line.
// Like TorchScript there is no cache: each step runs the whole sequence. Needs a
// libtorch with AOTIModelPackageLoader (2.x: aoti_available()); see docs/models.md.
//
//   auto model = detllm::load_aoti_model("model.pt2");
std::unique_ptr<Generator> load_aoti_model(
    const std::string& path, const ModelOptions& options = {},
    std::shared_ptr<const Tokenizer> tokenizer = byte_tokenizer());
// True when this build's libtorch can load AOTInductor packages.
bool aoti_available();

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

// Loads a model by name: "builtin:<preset>" (BuiltinConfig::preset_named), a
// Hugging Face checkpoint directory (load_hf_model), an AOTInductor package
// ("*.pt2", load_aoti_model) or a TorchScript file.
std::unique_ptr<Generator> load_model(const std::string& spec, const ModelOptions& options = {});

}  // namespace detllm

#endif  // DETLLM_TEST_MODELS_H_
