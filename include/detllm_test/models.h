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
#include "detllm_test/hf_tokenizer.h"
#include "detllm_test/model_config.h"

namespace detllm {

// Where and in which precision a model runs. `device` is "cpu", "cuda" or
// "cuda:N"; `dtype` is "float32", "bfloat16" or "float16".
struct ModelOptions {
  std::string device = "cpu";
  std::string dtype = "float32";
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
// SmolLM, TinyLlama), mistral, qwen2 (Qwen2, Qwen2.5), qwen3 (the dense Qwen3s)
// phi3 (Phi-3-mini-4k, and with longrope the 128k Phi-3s and Phi-3.5; Phi-4-mini's
// partial rotary is refused by name), the
// mixtures of experts qwen3_moe, qwen2_moe and mixtral, or gemma2 and
// gemma3_text (docs/models.md lists every model_type). Reads config.json,
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
// ("*.pt2", load_aoti_model), a server's OpenAI-compatible API
// ("http[s]://HOST:PORT/v1[?model=NAME]", openai_model) or a TorchScript file.
std::unique_ptr<Generator> load_model(const std::string& spec, const ModelOptions& options = {});

}  // namespace detllm

#endif  // DETLLM_TEST_MODELS_H_
