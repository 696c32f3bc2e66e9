// The built-in model's parameters, declared once per architecture: each
// weight's checkpoint name, where it lives in BuiltinWeights and its shape for
// a config; named(), empty_like() and the seeded random weights walk them.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "detllm_test/error.h"
#include "models/builtin_model.h"

namespace detllm {
namespace internal {

namespace {

// The sizes a config gives its parameters.
// The sizes a config gives its parameters (a block's, of layer `layer`).
struct Dims {
  int64_t C, I, H, D, KV, V, P;  // width, MLP, heads, head size, KV heads, vocab, positions
  bool qkv_bias, o_bias;         // Llama architecture: attention biases
  bool qk_norm;                  // Qwen3: q_norm and k_norm
  bool fused;                    // Phi-3: qkv_proj and gate_up_proj
  bool sparse;                   // this layer's MLP is experts
  bool gemma;                    // Gemma: norms before and after the MLP too
  int64_t E, EI, SI;             // experts, their width, the shared expert's (0: none)
};
Dims dims_of(const BuiltinConfig& c, int64_t layer = -1) {
  const int64_t C = c.n_embd, H = c.n_head;
  return {C,
          c.n_inner > 0 ? c.n_inner : 4 * C,
          H,
          c.head_dim > 0 ? c.head_dim : C / std::max<int64_t>(H, 1),
          c.n_kv_head > 0 ? c.n_kv_head : H,
          c.vocab_size,
          c.n_positions,
          c.attention_bias,
          c.attention_output_bias,
          c.qk_norm,
          c.fused_projections(),
          layer >= 0 && c.sparse_layer(layer),
          c.gemma(),
          c.n_experts,
          c.moe_inner,
          c.shared_expert_inner};
}

// A shape only where `present`.
std::vector<int64_t> if_(bool present, std::vector<int64_t> shape) {
  return present ? std::move(shape) : std::vector<int64_t>{};
}

// Every parameter of an architecture, declared once: its checkpoint name (a
// block's after "h.<i>." or "model.layers.<i>."), where it lives, and its shape
// for a config ({}: the config has none). named() and empty_like() walk these.
using Shape = std::vector<int64_t> (*)(const Dims&);
struct TopWeight {
  const char* name;
  at::Tensor BuiltinWeights::*member;
  Shape shape;
};
struct BlockWeight {
  const char* name;
  at::Tensor BuiltinWeights::Block::*member;
  Shape shape;
  const char* mixtral_name = nullptr;  // Mixtral's name where it has its own
};
// One tensor per expert of a sparse layer: "mlp.experts.<e>." + name (Qwen's
// names) or "block_sparse_moe.experts.<e>." + mixtral_name.
struct ExpertWeight {
  const char* name;
  const char* mixtral_name;
  std::vector<at::Tensor> BuiltinWeights::Block::*member;
  Shape shape;  // of each expert's
};
struct Architecture {
  const char* block_prefix;
  std::vector<TopWeight> before;  // the blocks
  std::vector<BlockWeight> block;
  std::vector<ExpertWeight> experts;
  std::vector<TopWeight> after;
};

using W = BuiltinWeights;
using B = BuiltinWeights::Block;
const Architecture& architecture(bool llama) {
  // GPT-2's Conv1D weights are [in, out]; Llama's Linear weights [out, in].
  static const Architecture gpt2 = {
      "h.",
      {{"wte.weight", &W::wte,
        [](const Dims& d) -> std::vector<int64_t> {
          return {d.V, d.C};
        }},
       {"wpe.weight", &W::wpe,
        [](const Dims& d) -> std::vector<int64_t> {
          return {d.P, d.C};
        }}},
      {{"ln_1.weight", &B::ln_1_weight,
        [](const Dims& d) -> std::vector<int64_t> { return {d.C}; }},
       {"ln_1.bias", &B::ln_1_bias, [](const Dims& d) -> std::vector<int64_t> { return {d.C}; }},
       {"attn.c_attn.weight", &B::attn_weight,
        [](const Dims& d) -> std::vector<int64_t> {
          return {d.C, 3 * d.C};
        }},
       {"attn.c_attn.bias", &B::attn_bias,
        [](const Dims& d) -> std::vector<int64_t> { return {3 * d.C}; }},
       {"attn.c_proj.weight", &B::attn_proj_weight,
        [](const Dims& d) -> std::vector<int64_t> {
          return {d.C, d.C};
        }},
       {"attn.c_proj.bias", &B::attn_proj_bias,
        [](const Dims& d) -> std::vector<int64_t> { return {d.C}; }},
       {"ln_2.weight", &B::ln_2_weight,
        [](const Dims& d) -> std::vector<int64_t> { return {d.C}; }},
       {"ln_2.bias", &B::ln_2_bias, [](const Dims& d) -> std::vector<int64_t> { return {d.C}; }},
       {"mlp.c_fc.weight", &B::fc_weight,
        [](const Dims& d) -> std::vector<int64_t> {
          return {d.C, d.I};
        }},
       {"mlp.c_fc.bias", &B::fc_bias, [](const Dims& d) -> std::vector<int64_t> { return {d.I}; }},
       {"mlp.c_proj.weight", &B::mlp_proj_weight,
        [](const Dims& d) -> std::vector<int64_t> {
          return {d.I, d.C};
        }},
       {"mlp.c_proj.bias", &B::mlp_proj_bias,
        [](const Dims& d) -> std::vector<int64_t> { return {d.C}; }}},
      {},
      {{"ln_f.weight", &W::ln_f_weight,
        [](const Dims& d) -> std::vector<int64_t> { return {d.C}; }},
       {"ln_f.bias", &W::ln_f_bias, [](const Dims& d) -> std::vector<int64_t> { return {d.C}; }}},
  };
  static const Architecture llama_architecture = {
      "model.layers.",
      {{"model.embed_tokens.weight", &W::wte,
        [](const Dims& d) -> std::vector<int64_t> {
          return {d.V, d.C};
        }}},
      {{"input_layernorm.weight", &B::ln_1_weight,
        [](const Dims& d) -> std::vector<int64_t> { return {d.C}; }},
       {"self_attn.qkv_proj.weight", &B::qkv_weight,
        [](const Dims& d) -> std::vector<int64_t> {
          return d.fused ? std::vector<int64_t>{(d.H + 2 * d.KV) * d.D, d.C}
                         : std::vector<int64_t>{};
        }},
       {"self_attn.q_proj.weight", &B::q_weight,
        [](const Dims& d) -> std::vector<int64_t> {
          return d.fused ? std::vector<int64_t>{} : std::vector<int64_t>{d.H * d.D, d.C};
        }},
       {"self_attn.q_proj.bias", &B::q_bias,
        [](const Dims& d) -> std::vector<int64_t> {
          return d.qkv_bias ? std::vector<int64_t>{d.H * d.D} : std::vector<int64_t>{};
        }},
       {"self_attn.k_proj.weight", &B::k_weight,
        [](const Dims& d) -> std::vector<int64_t> {
          return d.fused ? std::vector<int64_t>{} : std::vector<int64_t>{d.KV * d.D, d.C};
        }},
       {"self_attn.k_proj.bias", &B::k_bias,
        [](const Dims& d) -> std::vector<int64_t> {
          return d.qkv_bias ? std::vector<int64_t>{d.KV * d.D} : std::vector<int64_t>{};
        }},
       {"self_attn.v_proj.weight", &B::v_weight,
        [](const Dims& d) -> std::vector<int64_t> {
          return d.fused ? std::vector<int64_t>{} : std::vector<int64_t>{d.KV * d.D, d.C};
        }},
       {"self_attn.v_proj.bias", &B::v_bias,
        [](const Dims& d) -> std::vector<int64_t> {
          return d.qkv_bias ? std::vector<int64_t>{d.KV * d.D} : std::vector<int64_t>{};
        }},
       {"self_attn.q_norm.weight", &B::q_norm_weight,
        [](const Dims& d) -> std::vector<int64_t> {
          return d.qk_norm ? std::vector<int64_t>{d.D} : std::vector<int64_t>{};
        }},
       {"self_attn.k_norm.weight", &B::k_norm_weight,
        [](const Dims& d) -> std::vector<int64_t> {
          return d.qk_norm ? std::vector<int64_t>{d.D} : std::vector<int64_t>{};
        }},
       {"self_attn.o_proj.weight", &B::attn_proj_weight,
        [](const Dims& d) -> std::vector<int64_t> {
          return {d.C, d.H * d.D};
        }},
       {"self_attn.o_proj.bias", &B::attn_proj_bias,
        [](const Dims& d) -> std::vector<int64_t> {
          return d.o_bias ? std::vector<int64_t>{d.C} : std::vector<int64_t>{};
        }},
       {"post_attention_layernorm.weight", &B::ln_2_weight,
        [](const Dims& d) -> std::vector<int64_t> { return {d.C}; }},
       {"pre_feedforward_layernorm.weight", &B::pre_mlp_norm_weight,
        [](const Dims& d) { return if_(d.gemma, {d.C}); }},
       {"post_feedforward_layernorm.weight", &B::post_mlp_norm_weight,
        [](const Dims& d) { return if_(d.gemma, {d.C}); }},
       {"mlp.gate_up_proj.weight", &B::gate_up_weight,
        [](const Dims& d) {
          return if_(d.fused, {2 * d.I, d.C});
        }},
       {"mlp.gate_proj.weight", &B::gate_weight,
        [](const Dims& d) {
          return if_(!d.fused && !d.sparse, {d.I, d.C});
        }},
       {"mlp.up_proj.weight", &B::up_weight,
        [](const Dims& d) {
          return if_(!d.fused && !d.sparse, {d.I, d.C});
        }},
       {"mlp.down_proj.weight", &B::down_weight,
        [](const Dims& d) {
          return if_(!d.sparse, {d.C, d.I});
        }},
       {"mlp.gate.weight", &B::router_weight,
        [](const Dims& d) {
          return if_(d.sparse, {d.E, d.C});
        },
        "block_sparse_moe.gate.weight"},
       {"mlp.shared_expert.gate_proj.weight", &B::shared_gate_weight,
        [](const Dims& d) {
          return if_(d.sparse && d.SI > 0, {d.SI, d.C});
        }},
       {"mlp.shared_expert.up_proj.weight", &B::shared_up_weight,
        [](const Dims& d) {
          return if_(d.sparse && d.SI > 0, {d.SI, d.C});
        }},
       {"mlp.shared_expert.down_proj.weight", &B::shared_down_weight,
        [](const Dims& d) {
          return if_(d.sparse && d.SI > 0, {d.C, d.SI});
        }},
       {"mlp.shared_expert_gate.weight", &B::shared_expert_gate_weight,
        [](const Dims& d) {
          return if_(d.sparse && d.SI > 0, {1, d.C});
        }}},
      {{"gate_proj.weight", "w1.weight", &B::expert_gate,
        [](const Dims& d) {
          return if_(d.sparse, {d.EI, d.C});
        }},
       {"up_proj.weight", "w3.weight", &B::expert_up,
        [](const Dims& d) {
          return if_(d.sparse, {d.EI, d.C});
        }},
       {"down_proj.weight", "w2.weight", &B::expert_down,
        [](const Dims& d) {
          return if_(d.sparse, {d.C, d.EI});
        }}},
      {{"model.norm.weight", &W::ln_f_weight,
        [](const Dims& d) -> std::vector<int64_t> { return {d.C}; }}},
  };
  return llama ? llama_architecture : gpt2;
}

}  // namespace

std::vector<std::pair<std::string, at::Tensor*>> BuiltinWeights::named() {
  std::vector<std::pair<std::string, at::Tensor*>> out;
  const auto add = [&](std::string name, at::Tensor& tensor) {
    if (tensor.defined()) out.emplace_back(std::move(name), &tensor);
  };
  const Architecture& a = architecture(llama);
  for (const TopWeight& w : a.before) add(w.name, this->*w.member);
  for (size_t i = 0; i < blocks.size(); ++i) {
    const std::string prefix = a.block_prefix + std::to_string(i) + ".";
    for (const BlockWeight& w : a.block) {
      add(prefix + (mixtral && w.mixtral_name ? w.mixtral_name : w.name), blocks[i].*w.member);
    }
    for (const ExpertWeight& w : a.experts) {
      std::vector<at::Tensor>& tensors = blocks[i].*w.member;
      for (size_t e = 0; e < tensors.size(); ++e) {
        add(prefix + (mixtral ? "block_sparse_moe.experts." : "mlp.experts.") + std::to_string(e) +
                "." + (mixtral ? w.mixtral_name : w.name),
            tensors[e]);
      }
    }
  }
  for (const TopWeight& w : a.after) add(w.name, this->*w.member);
  add("lm_head.weight", lm_head);
  return out;
}

BuiltinWeights BuiltinWeights::empty_like(const BuiltinConfig& c) {
  const auto fill = [](at::Tensor& tensor, Shape shape, const Dims& d) {
    const std::vector<int64_t> sizes = shape(d);
    if (!sizes.empty()) tensor = at::empty(sizes, at::kFloat);
  };
  const Dims d = dims_of(c);
  BuiltinWeights w;
  w.llama = c.is_llama_architecture();
  w.mixtral = c.family().experts == ModelFamily::Experts::kMixtral;
  const Architecture& a = architecture(w.llama);
  for (const TopWeight& top : a.before) fill(w.*top.member, top.shape, d);
  w.blocks.resize(static_cast<size_t>(c.n_layer));
  for (size_t l = 0; l < w.blocks.size(); ++l) {
    const Dims layer = dims_of(c, static_cast<int64_t>(l));
    for (const BlockWeight& weight : a.block) fill(w.blocks[l].*weight.member, weight.shape, layer);
    for (const ExpertWeight& weight : a.experts) {
      if (weight.shape(layer).empty()) continue;
      std::vector<at::Tensor>& tensors = w.blocks[l].*weight.member;
      tensors.resize(static_cast<size_t>(layer.E));
      for (at::Tensor& t : tensors) fill(t, weight.shape, layer);
    }
  }
  for (const TopWeight& top : a.after) fill(w.*top.member, top.shape, d);
  if (!c.tie_word_embeddings) w.lm_head = at::empty({c.vocab_size, c.n_embd}, at::kFloat);
  return w;
}

BuiltinWeights random_weights(const BuiltinConfig& config) {
  BuiltinWeights w = BuiltinWeights::empty_like(config);
  at::Generator generator = at::detail::createCPUGenerator(config.weight_seed);
  for (auto& [name, tensor] : w.named()) {
    const bool is_norm =
        name.find("ln_") != std::string::npos || name.find("norm.") != std::string::npos;
    const bool is_bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    if (is_norm) {
      tensor->fill_(is_bias ? 0.0 : 1.0);
    } else if (is_bias) {
      tensor->zero_();
    } else {
      const bool embedding = name == "wte.weight" || name == "model.embed_tokens.weight";
      const double std = embedding ? config.embedding_std : config.init_std;
      tensor->normal_(0.0, std, generator);
    }
  }
  return w;
}

}  // namespace internal
}  // namespace detllm
