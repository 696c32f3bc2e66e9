#include "models/builtin_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <limits>

#include "detllm_test/error.h"
#include "explain/op_recorder.h"
#include "explain/op_scope.h"

namespace detllm {

BuiltinConfig BuiltinConfig::tiny() {
  BuiltinConfig config;
  config.preset = "tiny";
  config.init_std = 0.25;
  return config;
}

BuiltinConfig BuiltinConfig::small() {
  BuiltinConfig config;
  config.preset = "small";
  config.vocab_size = 50257;
  config.n_positions = 1024;
  config.n_embd = 768;
  config.n_layer = 12;
  config.n_head = 12;
  config.init_std = 0.08;
  return config;
}

BuiltinConfig BuiltinConfig::preset_named(const std::string& name) {
  if (name == "tiny") return tiny();
  if (name == "small") return small();
  throw Error("unknown built-in preset '" + name + "'; expected tiny or small");
}

namespace internal {

std::vector<std::pair<std::string, at::Tensor*>> BuiltinWeights::named() {
  std::vector<std::pair<std::string, at::Tensor*>> out = {{"wte.weight", &wte},
                                                          {"wpe.weight", &wpe}};
  for (size_t i = 0; i < blocks.size(); ++i) {
    const std::string p = "h." + std::to_string(i) + ".";
    Block& b = blocks[i];
    out.insert(out.end(), {{p + "ln_1.weight", &b.ln_1_weight},
                           {p + "ln_1.bias", &b.ln_1_bias},
                           {p + "attn.c_attn.weight", &b.attn_weight},
                           {p + "attn.c_attn.bias", &b.attn_bias},
                           {p + "attn.c_proj.weight", &b.attn_proj_weight},
                           {p + "attn.c_proj.bias", &b.attn_proj_bias},
                           {p + "ln_2.weight", &b.ln_2_weight},
                           {p + "ln_2.bias", &b.ln_2_bias},
                           {p + "mlp.c_fc.weight", &b.fc_weight},
                           {p + "mlp.c_fc.bias", &b.fc_bias},
                           {p + "mlp.c_proj.weight", &b.mlp_proj_weight},
                           {p + "mlp.c_proj.bias", &b.mlp_proj_bias}});
  }
  out.insert(out.end(), {{"ln_f.weight", &ln_f_weight}, {"ln_f.bias", &ln_f_bias}});
  if (lm_head.defined()) out.emplace_back("lm_head.weight", &lm_head);
  return out;
}

BuiltinWeights BuiltinWeights::empty_like(const BuiltinConfig& c) {
  auto e = [](at::IntArrayRef sizes) { return at::empty(sizes, at::kFloat); };
  const int64_t C = c.n_embd;
  const int64_t I = c.n_inner > 0 ? c.n_inner : 4 * C;
  BuiltinWeights w;
  w.wte = e({c.vocab_size, C});
  w.wpe = e({c.n_positions, C});
  w.ln_f_weight = e({C});
  w.ln_f_bias = e({C});
  for (int64_t i = 0; i < c.n_layer; ++i) {
    w.blocks.push_back({e({C}), e({C}), e({C, 3 * C}), e({3 * C}), e({C, C}), e({C}), e({C}),
                        e({C}), e({C, I}), e({I}), e({I, C}), e({C})});
  }
  return w;
}

BuiltinWeights random_weights(const BuiltinConfig& config) {
  BuiltinWeights w = BuiltinWeights::empty_like(config);
  at::Generator generator = at::detail::createCPUGenerator(config.weight_seed);
  for (auto& [name, tensor] : w.named()) {
    const bool is_norm = name.find("ln_") != std::string::npos;
    const bool is_bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    if (is_norm) {
      tensor->fill_(is_bias ? 0.0 : 1.0);
    } else if (is_bias) {
      tensor->zero_();
    } else {
      const double std = name == "wte.weight" ? config.embedding_std : config.init_std;
      tensor->normal_(0.0, std, generator);
    }
  }
  return w;
}

BuiltinModel::BuiltinModel(BuiltinConfig config, const ModelOptions& options,
                           BuiltinWeights weights, std::shared_ptr<const Tokenizer> tokenizer)
    : config_(std::move(config)),
      tokenizer_(std::move(tokenizer)),
      device_(parse_device(options.device)),
      dtype_(parse_dtype(options.dtype)),
      weights_(std::move(weights)) {
  if (config_.n_head <= 0 || config_.n_embd % config_.n_head != 0) {
    throw Error("built-in model: n_embd (" + std::to_string(config_.n_embd) +
                ") must be a multiple of n_head (" + std::to_string(config_.n_head) + ")");
  }
  const std::string& activation = config_.activation_function;
  if (activation == "gelu_new" || activation == "gelu_pytorch_tanh") {
    gelu_approximation_ = "tanh";
  } else if (activation == "gelu") {
    gelu_approximation_ = "none";
  } else {
    throw Error("built-in model: activation_function '" + activation +
                "' is not supported; expected gelu_new, gelu_pytorch_tanh or gelu");
  }
  for (auto& [name, tensor] : weights_.named()) *tensor = tensor->to(device_, dtype_);
  info_.name = "builtin:" + config_.preset;
  info_.backend = "builtin";
  info_.dtype = options.dtype;
  info_.device = device_.str();
  info_.vocab_size = config_.vocab_size;
}

void BuiltinModel::set_source(std::string name, std::vector<ModelFile> files) {
  info_.name = std::move(name);
  info_.file = files.empty() ? "" : files.front().path;
  info_.file_sha256 = files.empty() ? "" : files.front().sha256;
  info_.files = std::move(files);
}

BuiltinWeights BuiltinModel::cpu_float_weights() const {
  BuiltinWeights copy = weights_;
  for (auto& [name, tensor] : copy.named()) *tensor = tensor->to(at::kCPU, at::kFloat);
  return copy;
}

at::Tensor BuiltinModel::forward(const at::Tensor& ids, const at::Tensor& positions,
                                 const at::Tensor& allowed, bool every_position) {
  const int64_t B = ids.size(0), T = ids.size(1), C = config_.n_embd;
  const int64_t H = config_.n_head, D = C / H;
  // Scores are divided by sqrt(D), as GPT-2 does, rather than multiplied by its
  // inverse: the same rounding as transformers.
  const double sqrt_d = std::sqrt(static_cast<double>(D));
  // OpScope names where each op runs, as transformers names GPT-2's modules,
  // for the first divergent op (src/explain/).
  at::Tensor x;
  {
    OpScope scope("wte+wpe");
    x = weights_.wte.index_select(0, ids.reshape(-1)).view({B, T, C}) +
        weights_.wpe.index_select(0, positions.reshape(-1)).view({B, T, C});
  }
  record_layer_output("wte+wpe", -1, x);
  for (size_t l = 0; l < weights_.blocks.size(); ++l) {
    const BuiltinWeights::Block& w = weights_.blocks[l];
    const int layer = static_cast<int>(l);
    at::Tensor h, qkv;
    {
      OpScope scope("ln_1", layer);
      h = at::layer_norm(x, {C}, w.ln_1_weight, w.ln_1_bias, config_.layer_norm_epsilon);
    }
    {
      OpScope scope("attn.c_attn", layer);
      qkv = at::addmm(w.attn_bias, h.view({B * T, C}), w.attn_weight).view({B, T, 3, H, D});
    }
    at::Tensor attended;
    {
      OpScope scope("attn", layer);
      at::Tensor q = qkv.select(2, 0).transpose(1, 2);
      at::Tensor k = qkv.select(2, 1).transpose(1, 2);
      at::Tensor v = qkv.select(2, 2).transpose(1, 2);
      if (cache_k_[l].defined()) {
        k = at::cat({cache_k_[l], k}, 2);
        v = at::cat({cache_v_[l], v}, 2);
      }
      cache_k_[l] = k;
      cache_v_[l] = v;
      // Softmax in float32 for every dtype. Masked scores get the lowest finite
      // value, not -inf: a query row that sees only padding then averages finite
      // values instead of producing NaN that would flow into the cache.
      at::Tensor scores = (at::matmul(q, k.transpose(-2, -1)) / sqrt_d).to(at::kFloat);
      scores = scores.masked_fill(allowed.logical_not(), std::numeric_limits<float>::lowest());
      at::Tensor probs = at::softmax(scores, -1).to(dtype_);
      attended = at::matmul(probs, v).transpose(1, 2).reshape({B * T, C});
    }
    {
      OpScope scope("attn.c_proj", layer);
      x = x + at::addmm(w.attn_proj_bias, attended, w.attn_proj_weight).view({B, T, C});
    }
    {
      OpScope scope("ln_2", layer);
      h = at::layer_norm(x, {C}, w.ln_2_weight, w.ln_2_bias, config_.layer_norm_epsilon);
    }
    at::Tensor hidden;
    {
      OpScope scope("mlp.c_fc", layer);
      hidden = at::addmm(w.fc_bias, h.view({B * T, C}), w.fc_weight);
    }
    {
      OpScope scope("mlp.act", layer);
      hidden = at::gelu(hidden, gelu_approximation_);
    }
    OpScope scope("mlp.c_proj", layer);
    x = x + at::addmm(w.mlp_proj_bias, hidden, w.mlp_proj_weight).view({B, T, C});
    record_layer_output("h", layer, x);
  }
  at::Tensor last = every_position ? x : x.select(1, T - 1);
  {
    OpScope scope("ln_f");
    last = at::layer_norm(last, {C}, weights_.ln_f_weight, weights_.ln_f_bias,
                          config_.layer_norm_epsilon);
  }
  OpScope scope("lm_head");
  const at::Tensor& head = weights_.lm_head.defined() ? weights_.lm_head : weights_.wte;
  at::Tensor logits = at::matmul(last, head.t());
  record_layer_output("lm_head", -1, logits);
  return logits;
}

at::Tensor BuiltinModel::prefill(const at::Tensor& ids, const at::Tensor& mask) {
  const int64_t T = ids.size(1);
  cache_k_.assign(weights_.blocks.size(), at::Tensor());
  cache_v_.assign(weights_.blocks.size(), at::Tensor());
  // Position ids count real tokens only, so a left-padded prompt gets the same
  // positions as unpadded. Computed on the host: cumsum has no deterministic
  // CUDA kernel in every libtorch version.
  at::Tensor positions = (mask.to(at::kCPU).cumsum(1) - 1).clamp_min(0).to(device_);
  at::Tensor causal = at::ones({T, T}, mask.options().dtype(at::kBool)).tril();
  at::Tensor allowed =
      mask.to(at::kBool).view({mask.size(0), 1, 1, T}).logical_and(causal.view({1, 1, T, T}));
  return forward(ids, positions, allowed);
}

at::Tensor BuiltinModel::step(const at::Tensor& next_ids, const at::Tensor& mask) {
  at::Tensor positions = mask.sum(1, /*keepdim=*/true) - 1;
  at::Tensor allowed = mask.to(at::kBool).view({mask.size(0), 1, 1, mask.size(1)});
  return forward(next_ids, positions, allowed);
}

std::optional<SequenceScores> BuiltinModel::score(const TokenIds& sequence, size_t prompt_length) {
  c10::InferenceMode no_autograd;
  const auto n = static_cast<int64_t>(sequence.size());
  if (n > config_.n_positions) {
    throw Error("a sequence of " + std::to_string(n) + " tokens exceeds " + info_.name +
                "'s context of " + std::to_string(config_.n_positions) + " positions");
  }
  at::Tensor ids = at::tensor(sequence, at::kLong).view({1, n}).to(device_);
  at::Tensor positions = at::arange(n, ids.options()).view({1, n});
  at::Tensor allowed = at::ones({n, n}, ids.options().dtype(at::kBool)).tril().view({1, 1, n, n});
  cache_k_.assign(weights_.blocks.size(), at::Tensor());
  cache_v_.assign(weights_.blocks.size(), at::Tensor());
  at::Tensor logits = forward(ids, positions, allowed, /*every_position=*/true);
  cache_k_.clear();
  cache_v_.clear();
  return internal::scores_from_logits(logits[0], sequence, prompt_length);
}

at::Tensor BuiltinModel::next_token_logits(const TokenIds& ids) {
  c10::InferenceMode no_autograd;
  const auto n = static_cast<int64_t>(ids.size());
  at::Tensor input = at::tensor(ids, at::kLong).view({1, n}).to(device_);
  at::Tensor logits = prefill(input, at::ones({1, n}, input.options()));
  cache_k_.clear();
  cache_v_.clear();
  return logits[0].to(at::kCPU, at::kFloat);
}

std::vector<Generation> BuiltinModel::generate(const std::vector<TokenIds>& batch,
                                               const GenerationConfig& config) {
  for (const TokenIds& ids : batch) {
    for (int64_t id : ids) {
      if (id < 0 || id >= config_.vocab_size) {
        throw Error("token id " + std::to_string(id) + " is outside " + info_.name +
                    "'s vocabulary of " + std::to_string(config_.vocab_size));
      }
    }
    if (static_cast<int64_t>(ids.size()) + config.max_new_tokens > config_.n_positions) {
      throw Error("a prompt of " + std::to_string(ids.size()) + " tokens plus " +
                  std::to_string(config.max_new_tokens) + " new tokens exceeds " + info_.name +
                  "'s context of " + std::to_string(config_.n_positions) + " positions");
    }
  }
  c10::InferenceMode no_autograd;
  try {
    auto out = decode(*this, batch, config, device_, /*pad_id=*/0);
    cache_k_.clear();
    cache_v_.clear();
    return out;
  } catch (const c10::Error& e) {
    cache_k_.clear();
    cache_v_.clear();
    throw Error(info_.name + " failed on " + info_.device + "/" + info_.dtype + ": " +
                describe_torch_error(e));
  }
}

}  // namespace internal

std::unique_ptr<Generator> make_builtin_model(const BuiltinConfig& config,
                                              const ModelOptions& options) {
  try {
    return std::make_unique<internal::BuiltinModel>(config, options,
                                                    internal::random_weights(config));
  } catch (const c10::Error& e) {
    throw Error("cannot build the built-in model: " + std::string(e.what_without_backtrace()));
  }
}

}  // namespace detllm
