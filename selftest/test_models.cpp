// Models for the self-tests, written by the suite itself: TorchScript
// transformers with and without real defects, and tiny checkpoints.
#include "test_models.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "artifacts/file_util.h"
#include "checkpoint/tensor_file.h"
#include "model_config/hf_config.h"

namespace detllm::testing {
namespace {

constexpr int64_t kVocab = 256, kPositions = 128, kWidth = 32;

std::string forward_source(Defect defect) {
  const bool correct_mask = defect != Defect::kIgnoresPadding && defect != Defect::kNoMaskArgument;
  std::string s = defect == Defect::kNoMaskArgument
                      ? "def forward(self, input_ids):\n"
                      : "def forward(self, input_ids, attention_mask):\n";
  s += R"(    B = input_ids.size(0)
    T = input_ids.size(1)
    C = self.wte.size(1)
    H = 2
    D = C // H
)";
  s += correct_mask
           ? "    pos = torch.clamp(torch.cumsum(attention_mask, 1) - 1, min=0)\n"
           : "    pos = torch.arange(T, device=input_ids.device).unsqueeze(0).expand(B, T)\n";
  s += R"(    x = torch.embedding(self.wte, input_ids) + torch.embedding(self.wpe, pos)
    h = torch.layer_norm(x, [C], self.ln1_w, self.ln1_b, 1e-5, False)
    qkv = torch.matmul(h, self.w_qkv) + self.b_qkv
    q = qkv[:, :, 0:C].reshape(B, T, H, D).transpose(1, 2)
    k = qkv[:, :, C:2 * C].reshape(B, T, H, D).transpose(1, 2)
    v = qkv[:, :, 2 * C:3 * C].reshape(B, T, H, D).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / (D ** 0.5))
    allowed = (torch.tril(torch.ones(T, T, device=input_ids.device)) > 0).unsqueeze(0).unsqueeze(0)
)";
  if (correct_mask) s += "    allowed = allowed & (attention_mask.unsqueeze(1).unsqueeze(2) > 0)\n";
  s +=
      R"(    scores = scores.masked_fill(torch.logical_not(allowed), -1e9)
    y = torch.matmul(torch.softmax(scores, -1), v).transpose(1, 2).reshape(B, T, C)
    x = x + torch.matmul(y, self.w_o) + self.b_o
    h = torch.layer_norm(x, [C], self.ln2_w, self.ln2_b, 1e-5, False)
    x = x + )" +
      std::string(
          defect == Defect::kStaleState
              ? "self.mlp.forward(h)"
              : R"(torch.matmul(torch.gelu(torch.matmul(h, self.w_fc) + self.b_fc), self.w_proj) + self.b_proj)") +
      R"(
    x = torch.layer_norm(x, [C], self.lnf_w, self.lnf_b, 1e-5, False)
    logits = torch.matmul(x, self.wte.t())
)";
  switch (defect) {
    case Defect::kDropoutLeftOn:
      s += "    logits = logits + torch.rand_like(logits) * 4.0\n";
      break;
    case Defect::kTinyNoise:
      s += "    logits = logits + torch.rand_like(logits) * 1e-4\n";
      break;
    case Defect::kNanAfter12:
      s += "    if T >= 12:\n        logits = logits + (logits - logits) / 0.0\n";
      break;
    case Defect::kFlatLogits:
      s += "    return logits.reshape(B * T, -1)\n";
      break;
    case Defect::kTupleOutput:
      s += "    return (logits, x)\n";
      break;
    case Defect::kAtomicSum:
      // 65536 float32 values of mixed signs and magnitudes summed into one slot:
      // the rounding depends on the order of the additions, which CUDA's atomics
      // do not fix. The sum nudges one logit, so logprobs show any change.
      s += R"(    k = torch.arange(65536, device=input_ids.device).float()
    src = torch.sin(k) * 1000.0 + 0.123
    acc = torch.zeros(1, device=input_ids.device).index_add(0, torch.zeros(65536, device=input_ids.device).long(), src)
    logits = logits + (torch.arange(logits.size(2), device=input_ids.device) == 65).float() * acc * 0.001
)";
      break;
    case Defect::kThreadSum:
      // libtorch splits a long sum over its intra-op threads: another thread
      // count adds in another order. The sum's low digits nudge one logit.
      s += R"(    vals = torch.sin(torch.arange(4194304, device=input_ids.device).float() * 0.7)
    nudge = torch.remainder(torch.sum(vals) * 1000000.0, 1.0)
    logits = logits + (torch.arange(logits.size(2), device=input_ids.device) == 65).float() * nudge
)";
      break;
    case Defect::kPutOverwrites:
      // put_ without accumulation: with duplicate indices, which write wins is
      // unspecified, so deterministic algorithms refuse it on every device.
      s += R"(    slot = torch.zeros(logits.size(2), device=input_ids.device)
    slot.put_(torch.zeros(2, device=input_ids.device).long(), torch.tensor([0.5, -0.5], device=input_ids.device))
    logits = logits + slot
)";
      break;
    default:
      break;
  }
  s += "    return logits\n";
  return s;
}

const char* file_name(Defect defect) {
  switch (defect) {
    case Defect::kNone:
      return "correct";
    case Defect::kIgnoresPadding:
      return "ignores_padding";
    case Defect::kDropoutLeftOn:
      return "dropout_left_on";
    case Defect::kTinyNoise:
      return "tiny_noise";
    case Defect::kNanAfter12:
      return "nan_after_12";
    case Defect::kPutOverwrites:
      return "put_overwrites";
    case Defect::kFlatLogits:
      return "flat_logits";
    case Defect::kTupleOutput:
      return "tuple_output";
    case Defect::kNoMaskArgument:
      return "no_mask_argument";
    case Defect::kAtomicSum:
      return "atomic_sum";
    case Defect::kStaleState:
      return "stale_state";
    case Defect::kThreadSum:
      return "thread_sum";
  }
  return "model";
}

}  // namespace

std::string write_torchscript_model(const std::string& dir, Defect defect) {
  torch::jit::Module module("TinyTransformer");
  auto generator = at::detail::createCPUGenerator(1234);
  auto normal = [&](at::IntArrayRef sizes, double std) {
    return at::empty(sizes, at::kFloat).normal_(0.0, std, generator);
  };
  const int64_t C = kWidth;
  module.register_parameter("wte", normal({kVocab, C}, 1.0), false);
  module.register_parameter("wpe", normal({kPositions, C}, 0.1), false);
  for (const char* name : {"ln1", "ln2", "lnf"}) {
    module.register_parameter(std::string(name) + "_w", at::ones({C}), false);
    module.register_parameter(std::string(name) + "_b", at::zeros({C}), false);
  }
  module.register_parameter("w_qkv", normal({C, 3 * C}, 0.6), false);
  module.register_parameter("b_qkv", at::zeros({3 * C}), false);
  module.register_parameter("w_o", normal({C, C}, 0.6), false);
  module.register_parameter("b_o", at::zeros({C}), false);
  module.register_parameter("w_fc", normal({C, 4 * C}, 0.6), false);
  module.register_parameter("b_fc", at::zeros({4 * C}), false);
  module.register_parameter("w_proj", normal({4 * C, C}, 0.6), false);
  module.register_parameter("b_proj", at::zeros({C}), false);
  if (defect == Defect::kStaleState) {
    // State carried from one call into the next, as a cache or a running
    // statistic that is never reset: every call computes something else.
    torch::jit::Module mlp("Mlp");
    for (const char* name : {"w_fc", "b_fc", "w_proj", "b_proj"}) {
      mlp.register_parameter(name, module.attr(name).toTensor(), false);
    }
    mlp.register_buffer("carry", at::zeros({C}));
    mlp.define(R"(def forward(self, h):
    y = torch.gelu(torch.matmul(h, self.w_fc) + self.b_fc)
    out = torch.matmul(y, self.w_proj) + self.b_proj + self.carry
    self.carry.copy_(out.mean([0, 1]))
    return out
)");
    module.register_module("mlp", mlp);
  }
  module.define(forward_source(defect));
  const std::string path = dir + "/" + file_name(defect) + ".pt";
  module.save(path);
  return path;
}

std::vector<std::pair<std::string, std::string>> TinyGpt2::default_merges() {
  // GPT-2's own first merges, and a few that build on them.
  return {{"Ġ", "t"},   {"Ġ", "a"}, {"h", "e"},  {"i", "n"}, {"r", "e"},  {"o", "n"},
          {"Ġt", "he"}, {"e", "r"}, {"Ġ", "s"},  {"a", "t"}, {"Ġ", "w"},  {"Ġ", "o"},
          {"e", "n"},   {"Ġ", "c"}, {"i", "t"},  {"i", "s"}, {"a", "n"},  {"o", "r"},
          {"e", "s"},   {"Ġ", "b"}, {"e", "d"},  {"Ġ", "f"}, {"in", "g"}, {"l", "l"},
          {"Ġ", "p"},   {"o", "u"}, {"Ġa", "n"}, {"a", "r"}, {"Ġ", "h"},  {"Ġo", "f"}};
}

void write_tiny_gpt2(const std::string& dir, const TinyGpt2& options) {
  std::filesystem::create_directories(dir);
  const int64_t vocab = write_bpe_files(dir, options.merges);
  const int64_t C = 32, layers = 2, heads = 4, positions = 64, inner = options.n_inner;
  at::Generator generator = at::detail::createCPUGenerator(options.seed);
  const auto random = [&](at::IntArrayRef shape, double std, double mean = 0.0) {
    return at::randn(shape, generator) * std + mean;
  };
  const std::string p = options.transformer_prefix ? "transformer." : "";
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {p + "wte.weight", random({vocab, C}, 1.0)}, {p + "wpe.weight", random({positions, C}, 0.3)}};
  for (int64_t l = 0; l < layers; ++l) {
    const std::string h = p + "h." + std::to_string(l) + ".";
    for (const char* norm : {"ln_1", "ln_2"}) {
      tensors.emplace_back(h + norm + ".weight", random({C}, 0.1, 1.0));
      tensors.emplace_back(h + norm + ".bias", random({C}, 0.1));
    }
    tensors.emplace_back(h + "attn.c_attn.weight", random({C, 3 * C}, 0.3));
    tensors.emplace_back(h + "attn.c_attn.bias", random({3 * C}, 0.1));
    tensors.emplace_back(h + "attn.c_proj.weight", random({C, C}, 0.3));
    tensors.emplace_back(h + "attn.c_proj.bias", random({C}, 0.1));
    tensors.emplace_back(h + "mlp.c_fc.weight", random({C, inner}, 0.3));
    tensors.emplace_back(h + "mlp.c_fc.bias", random({inner}, 0.1));
    tensors.emplace_back(h + "mlp.c_proj.weight", random({inner, C}, 0.3));
    tensors.emplace_back(h + "mlp.c_proj.bias", random({C}, 0.1));
    // Older checkpoints carry the causal mask as a buffer; loaders skip it.
    tensors.emplace_back(h + "attn.bias", at::ones({1, 1, positions, positions}).tril());
  }
  tensors.emplace_back(p + "ln_f.weight", random({C}, 0.1, 1.0));
  tensors.emplace_back(p + "ln_f.bias", random({C}, 0.1));
  if (options.untied_head) tensors.emplace_back("lm_head.weight", random({vocab, C}, 1.0));
  internal::write_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  const nlohmann::json config = {
      {"model_type", "gpt2"}, {"vocab_size", vocab},        {"n_positions", positions},
      {"n_embd", C},          {"n_layer", layers},          {"n_head", heads},
      {"n_inner", inner},     {"layer_norm_epsilon", 1e-5}, {"activation_function", "gelu_new"}};
  std::ofstream(dir + "/config.json") << config.dump(2);
}

BuiltinConfig TinyLlama::default_config() {
  BuiltinConfig c = BuiltinConfig::llama_tiny();  // 2 layers, 4/2 heads, untied
  c.vocab_size = 258;                             // bytes, <|begin_of_text|>, <|end_of_text|>
  c.n_positions = 128;
  c.n_embd = 32;
  c.n_inner = 48;
  return c;
}

void write_tiny_llama(const std::string& dir, const TinyLlama& options) {
  std::filesystem::create_directories(dir);
  const BuiltinConfig& c = options.config;
  const int64_t C = c.n_embd, H = c.n_head, KV = c.n_kv_head > 0 ? c.n_kv_head : H;
  const int64_t D = c.head_dim > 0 ? c.head_dim : C / H, I = c.n_inner, V = c.vocab_size;
  at::Generator generator = at::detail::createCPUGenerator(options.seed);
  const auto random = [&](at::IntArrayRef shape, double std, double mean = 0.0) {
    return at::randn(shape, generator) * std + mean;
  };
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"model.embed_tokens.weight", random({V, C}, 1.0)}};
  const bool qkv_bias = c.attention_bias || c.model_type == "qwen2";
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    tensors.emplace_back(p + "input_layernorm.weight", random({C}, 0.1, 1.0));
    const struct {
      const char* name;
      int64_t rows;
    } projections[] = {{"q_proj", H * D}, {"k_proj", KV * D}, {"v_proj", KV * D}};
    for (const auto& projection : projections) {
      const std::string name = p + "self_attn." + projection.name;
      tensors.emplace_back(name + ".weight", random({projection.rows, C}, 0.3));
      if (qkv_bias) tensors.emplace_back(name + ".bias", random({projection.rows}, 0.1));
    }
    tensors.emplace_back(p + "self_attn.o_proj.weight", random({C, H * D}, 0.3));
    if (c.attention_bias && c.model_type != "qwen2") {
      tensors.emplace_back(p + "self_attn.o_proj.bias", random({C}, 0.1));
    }
    tensors.emplace_back(p + "post_attention_layernorm.weight", random({C}, 0.1, 1.0));
    tensors.emplace_back(p + "mlp.gate_proj.weight", random({I, C}, 0.3));
    tensors.emplace_back(p + "mlp.up_proj.weight", random({I, C}, 0.3));
    tensors.emplace_back(p + "mlp.down_proj.weight", random({C, I}, 0.3));
  }
  tensors.emplace_back("model.norm.weight", random({C}, 0.1, 1.0));
  if (!c.tie_word_embeddings) tensors.emplace_back("lm_head.weight", random({V, C}, 0.5));
  const at::ScalarType dtype = options.dtype == "BF16"  ? at::kBFloat16
                               : options.dtype == "F16" ? at::kHalf
                                                        : at::kFloat;
  for (auto& [name, tensor] : tensors) tensor = tensor.to(dtype);
  if (options.shards <= 1) {
    internal::write_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
  } else {
    nlohmann::json weight_map = nlohmann::json::object();
    const size_t per_shard = (tensors.size() + options.shards - 1) / options.shards;
    for (int s = 0; s < options.shards; ++s) {
      char name[64];
      std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, options.shards);
      const auto begin = tensors.begin() + std::min(tensors.size(), s * per_shard);
      const auto end = tensors.begin() + std::min(tensors.size(), (s + 1) * per_shard);
      for (auto it = begin; it != end; ++it) weight_map[it->first] = name;
      internal::write_safetensors(dir + "/" + name, {begin, end}, {{"format", "pt"}});
    }
    std::ofstream(dir + "/model.safetensors.index.json")
        << nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump(2);
  }
  std::ofstream(dir + "/config.json") << internal::hf_config_json(c).dump(2);
  std::ofstream(dir + "/tokenizer.json") << tiny_llama_tokenizer_json().dump(2);
  if (!options.eos.empty()) {
    std::ofstream(dir + "/generation_config.json")
        << nlohmann::json{{"bos_token_id", 256}, {"eos_token_id", options.eos}}.dump(2);
  }
}

}  // namespace detllm::testing
