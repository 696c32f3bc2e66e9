// The built-in reference transformer: GPT-2 and the Llama architecture with a
// KV cache and left padding (its weights: weight_table.cpp; rotary embedding:
// rope.cpp; norms: tensor_ops.cpp).
#include "models/builtin_model.h"

#include <c10/core/InferenceMode.h>

#include <cmath>
#include <limits>
#include <tuple>

#include "detllm_test/error.h"
#include "models/model_hooks.h"
#include "models/rope.h"
#include "models/tensor_ops.h"

namespace detllm {

namespace internal {

BuiltinModel::BuiltinModel(BuiltinConfig config, const ModelOptions& options,
                           BuiltinWeights weights, std::shared_ptr<const Tokenizer> tokenizer)
    : config_(std::move(config)),
      tokenizer_(std::move(tokenizer)),
      device_(parse_device(options.device)),
      dtype_(parse_dtype(options.dtype)),
      weights_(std::move(weights)) {
  const auto fail = [](const std::string& problem) { throw Error("built-in model: " + problem); };
  const auto text = [](auto value) { return std::to_string(value); };
  const bool llama = config_.is_llama_architecture();
  if (!find_model_family(config_.model_type)) {
    fail("model_type '" + config_.model_type + "' is not supported; expected " +
         BuiltinConfig::supported_model_types());
  }
  if (config_.n_experts > 0 &&
      (config_.n_experts_per_token < 1 || config_.n_experts_per_token > config_.n_experts ||
       config_.moe_inner <= 0)) {
    fail("a mixture of experts needs 1 <= n_experts_per_token (" +
         text(config_.n_experts_per_token) + ") <= n_experts (" + text(config_.n_experts) +
         ") and a positive moe_inner");
  }
  if (config_.n_head <= 0 || (config_.head_dim <= 0 && config_.n_embd % config_.n_head != 0)) {
    fail("n_embd (" + text(config_.n_embd) + ") must be a multiple of n_head (" +
         text(config_.n_head) + ")");
  }
  head_dim_ = llama && config_.head_dim > 0 ? config_.head_dim : config_.n_embd / config_.n_head;
  const std::string& activation = config_.activation_function;
  if (llama) {
    const int64_t kv = config_.n_kv_head > 0 ? config_.n_kv_head : config_.n_head;
    if (config_.n_head % kv != 0) {
      fail("n_head (" + text(config_.n_head) + ") must be a multiple of n_kv_head (" + text(kv) +
           ")");
    }
    if (head_dim_ % 2 != 0) fail("head_dim (" + text(head_dim_) + ") must be even for rotary");
    const std::string expected = config_.gemma() ? "gelu_pytorch_tanh" : "silu";
    if (activation != expected) {
      fail("activation_function '" + activation + "' is not supported for " + config_.model_type +
           "; expected " + expected);
    }
    if (config_.sliding_window < 0) fail("sliding_window must not be negative");
    // LongRoPE starts with its short factors (inv_freq_) and switches to its long ones.
    const int64_t short_length = config_.rope_scaling.type == "longrope"
                                     ? config_.rope_scaling.original_max_position_embeddings
                                     : config_.n_positions;
    inv_freq_ = rope_frequencies(config_, head_dim_, short_length).to(device_);
    if (config_.rope_scaling.type == "longrope") {
      long_inv_freq_ = rope_frequencies(config_, head_dim_, short_length + 1).to(device_);
    }
    if (config_.rope_local_theta > 0) {  // Gemma 3's sliding layers: the default rope, own base
      const at::Tensor exponent = at::arange(0, head_dim_, 2, at::kLong).to(at::kFloat) / head_dim_;
      local_inv_freq_ = (1.0 / at::pow(config_.rope_local_theta, exponent)).to(device_);
    }
  } else if (activation == "gelu_new" || activation == "gelu_pytorch_tanh") {
    gelu_approximation_ = "tanh";
  } else if (activation == "gelu") {
    gelu_approximation_ = "none";
  } else {
    fail("activation_function '" + activation +
         "' is not supported; expected gelu_new, gelu_pytorch_tanh or gelu");
  }
  for (auto& [name, tensor] : weights_.named()) *tensor = tensor->to(device_, dtype_);
  info_.name = "builtin:" + config_.preset;
  info_.backend = "builtin";
  info_.dtype = options.dtype;
  info_.device = device_.str();
  info_.vocab_size = config_.vocab_size;
}

void BuiltinModel::set_source(std::string name, std::vector<ModelFile> files,
                              std::vector<int64_t> eos_token_ids) {
  info_.eos_token_ids = std::move(eos_token_ids);
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

void BuiltinModel::reset_cache() {
  cache_k_.assign(weights_.blocks.size(), at::Tensor());
  cache_v_.assign(weights_.blocks.size(), at::Tensor());
  cache_length_.assign(weights_.blocks.size(), 0);
}

void BuiltinModel::drop_cache() {
  seen_ids_ = at::Tensor();
  cache_k_.clear();
  cache_v_.clear();
  cache_length_.clear();
}

at::Tensor BuiltinModel::attend(size_t layer, const at::Tensor& q, const at::Tensor& k_new,
                                const at::Tensor& v_new, const at::Tensor& allowed) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t KV = k_new.size(1), rep = H / KV;
  // The cache grows by doubling and is written in place, so a decode step
  // copies only its own keys and values, not the whole cache.
  at::Tensor &cache_k = cache_k_[layer], &cache_v = cache_v_[layer];
  int64_t& length = cache_length_[layer];
  if (!cache_k.defined() || length + T > cache_k.size(2)) {
    const int64_t capacity = std::max<int64_t>(2 * (length + T), 64);
    at::Tensor k = at::empty({B, KV, capacity, D}, k_new.options());
    at::Tensor v = at::empty({B, KV, capacity, D}, v_new.options());
    if (length > 0) {
      k.narrow(2, 0, length).copy_(cache_k.narrow(2, 0, length));
      v.narrow(2, 0, length).copy_(cache_v.narrow(2, 0, length));
    }
    cache_k = k;
    cache_v = v;
  }
  cache_k.narrow(2, length, T).copy_(k_new);
  cache_v.narrow(2, length, T).copy_(v_new);
  length += T;
  const int64_t S = length;
  const at::Tensor k = cache_k.narrow(2, 0, S), v = cache_v.narrow(2, 0, S);
  // Grouped-query attention without repeating the cache: the `rep` query heads
  // of each key/value head are stacked as rows of one matmul against it.
  const at::Tensor grouped_q = q.reshape({B, KV, rep * T, D});
  // Softmax in float32 for every dtype. Masked scores get the lowest finite
  // value, not -inf: a query row that sees only padding then averages finite
  // values instead of producing NaN that would flow into the cache.
  // GPT-2 divides the scores by sqrt(D) and Llama multiplies them by its
  // inverse: the same rounding as transformers.
  // Gemma scales by query_pre_attn_scalar^-0.5 and soft-caps the scores
  // before the mask, in the model's dtype, as transformers does.
  const double sqrt_d = std::sqrt(static_cast<double>(D));
  at::Tensor scores = at::matmul(grouped_q, k.transpose(-2, -1));
  if (config_.query_pre_attn_scalar > 0) {
    scores = scores * std::pow(config_.query_pre_attn_scalar, -0.5);
  } else {
    scores = weights_.llama ? scores * (1.0 / sqrt_d) : scores / sqrt_d;
  }
  scores = soft_cap(scores, config_.attn_logit_softcapping).to(at::kFloat);
  scores =
      scores.view({B, KV, rep, T, S})
          .masked_fill(allowed.logical_not().unsqueeze(2), std::numeric_limits<float>::lowest());
  at::Tensor probs = at::softmax(scores, -1).to(dtype_).view({B, KV, rep * T, S});
  return at::matmul(probs, v).view({B, H, T, D}).transpose(1, 2).reshape({B * T, H * D});
}

std::pair<at::Tensor, at::Tensor> BuiltinModel::rotary(const at::Tensor& positions,
                                                       bool local) const {
  if (local) {
    const at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * local_inv_freq_;
    const at::Tensor angles = at::cat({freqs, freqs}, -1).unsqueeze(1);
    return {angles.cos().to(dtype_), angles.sin().to(dtype_)};
  }
  at::Tensor inv_freq = inv_freq_;
  if (config_.rope_scaling.type == "dynamic") {
    const int64_t seq_len = positions.max().item<int64_t>() + 1;
    if (seq_len > config_.n_positions) {
      inv_freq = rope_frequencies(config_, head_dim_, seq_len).to(device_);
    }
  }
  if (config_.rope_scaling.type == "longrope") {
    // The long factors once this pass reaches past the original context (keys
    // already cached keep their rotation, as in transformers).
    const int64_t seq_len = positions.max().item<int64_t>() + 1;
    if (seq_len > config_.rope_scaling.original_max_position_embeddings) inv_freq = long_inv_freq_;
  }
  const at::Tensor freqs = positions.to(at::kFloat).unsqueeze(-1) * inv_freq;  // [B, T, D/2]
  const at::Tensor angles = at::cat({freqs, freqs}, -1).unsqueeze(1);          // [B, 1, T, D]
  const double scale = rope_attention_factor(config_.rope_scaling);
  if (scale != 1.0) {  // YaRN: in float32, before the cast, as transformers scales them
    return {(angles.cos() * scale).to(dtype_), (angles.sin() * scale).to(dtype_)};
  }
  return {angles.cos().to(dtype_), angles.sin().to(dtype_)};
}

at::Tensor BuiltinModel::norm(const at::Tensor& x, const at::Tensor& weight) const {
  return config_.gemma() ? gemma_rms_norm(x, weight, config_.layer_norm_epsilon)
                         : rms_norm(x, weight, config_.layer_norm_epsilon);
}

at::Tensor BuiltinModel::within_window(const at::Tensor& allowed) const {
  if (config_.sliding_window <= 0) return allowed;
  // Query i of this pass is cache slot S - T + i. With left padding, distances
  // between real tokens in cache slots equal distances in positions.
  const int64_t T = allowed.size(2), S = allowed.size(3);
  const auto options = allowed.options().dtype(at::kLong);
  const at::Tensor query = at::arange(S - T, S, options).view({T, 1});
  const at::Tensor key = at::arange(S, options).view({1, S});
  return allowed.logical_and((query - key < config_.sliding_window).view({1, 1, T, S}));
}

// The gated MLP's activation: silu(gate) * up (Gemma: tanh-GELU), from
// separate gate_proj and up_proj or (Phi-3) one gate_up_proj whose first half
// is the gate.
at::Tensor BuiltinModel::swiglu(const BuiltinWeights::Block& w, const at::Tensor& h, int layer) {
  if (w.gate_up_weight.defined()) {
    OpScope scope("mlp.gate_up_proj", layer);
    const at::Tensor gate_up = at::linear(h, w.gate_up_weight);
    const int64_t I = gate_up.size(-1) / 2;
    return gate_up.narrow(-1, I, I) * at::silu(gate_up.narrow(-1, 0, I));
  }
  at::Tensor gated;
  {
    OpScope scope("mlp.gate_proj", layer);
    const at::Tensor gate = at::linear(h, w.gate_weight);
    gated = config_.gemma() ? at::gelu(gate, "tanh") : at::silu(gate);
  }
  OpScope scope("mlp.up_proj", layer);
  return gated * at::linear(h, w.up_weight);
}

// As transformers' eager MoE blocks compute it: router logits in the model's
// dtype, softmax in float32, the top k by probability (renormalised where the
// config says), cast back to the dtype except for Mixtral; each expert runs
// over the tokens routed to it, so an expert's matmul has as many rows as the
// batch sends it (as in serving engines: the batch composition reaches the
// kernels); a token's expert outputs are summed in expert order.
at::Tensor BuiltinModel::experts(const BuiltinWeights::Block& w, const at::Tensor& h, int layer) {
  const int64_t C = h.size(-1), K = config_.n_experts_per_token;
  const at::Tensor flat = h.reshape({-1, C});
  const int64_t N = flat.size(0);
  at::Tensor weights, chosen;
  {
    OpScope scope("mlp.gate", layer);
    const at::Tensor logits = at::linear(flat, w.router_weight);
    auto [top, index] = at::topk(at::softmax(logits.to(at::kFloat), -1), K, -1);
    if (config_.norm_topk_prob) top = top / top.sum(-1, /*keepdim=*/true);
    if (config_.family().experts != ModelFamily::Experts::kMixtral) {
      top = top.to(logits.scalar_type());  // Mixtral keeps its routing weights in float32
    }
    record_expert_routing(layer, logits, index);
    // Each token's choices in expert order, the order their outputs are summed in.
    auto [sorted, order] = index.sort(-1);
    chosen = sorted;
    weights = top.gather(-1, order);
  }
  // [N * K, C]: row n * K + k holds token n's k-th expert's weighted output.
  at::Tensor routed = at::zeros({N * K, C}, flat.options());
  // Each expert's tokens and slots, gathered in one pass over the choices on
  // the host (one copy), not with two ops per expert: Qwen3-MoE has 128.
  std::vector<std::vector<int64_t>> tokens_of(w.expert_gate.size()), slots_of(tokens_of.size());
  {
    const at::Tensor chosen_cpu = chosen.to(at::kCPU, at::kLong).contiguous();
    const int64_t* expert = chosen_cpu.data_ptr<int64_t>();
    for (int64_t slot = 0; slot < N * K; ++slot) {
      tokens_of[static_cast<size_t>(expert[slot])].push_back(slot / K);
      slots_of[static_cast<size_t>(expert[slot])].push_back(slot);
    }
  }
  for (size_t e = 0; e < tokens_of.size(); ++e) {
    if (tokens_of[e].empty()) continue;
    // Which experts run depends on the batch: these ops are not aligned between runs.
    OpScope scope("mlp.experts", layer, /*varies=*/true);
    const at::Tensor tokens = at::tensor(tokens_of[e], at::kLong).to(device_);
    const at::Tensor slots = at::tensor(slots_of[e], at::kLong).to(device_);
    const at::Tensor x = flat.index_select(0, tokens);
    const at::Tensor gated =
        at::silu(at::linear(x, w.expert_gate[e])) * at::linear(x, w.expert_up[e]);
    const at::Tensor scale = weights.view({-1}).index_select(0, slots).unsqueeze(-1);
    // index_put_ without accumulation: deterministic on every device (each slot is written once).
    routed.index_put_({slots},
                      (at::linear(gated, w.expert_down[e]) * scale).to(flat.scalar_type()));
  }
  at::Tensor out;
  {
    OpScope scope("mlp.experts", layer);
    const at::Tensor per_slot = routed.view({N, K, C});
    out = per_slot.select(1, 0);
    for (int64_t k = 1; k < K; ++k) out = out + per_slot.select(1, k);
  }
  if (w.shared_gate_weight.defined()) {  // Qwen2-MoE
    OpScope scope("mlp.shared_expert", layer);
    const at::Tensor shared = at::linear(
        at::silu(at::linear(flat, w.shared_gate_weight)) * at::linear(flat, w.shared_up_weight),
        w.shared_down_weight);
    out = out + at::sigmoid(at::linear(flat, w.shared_expert_gate_weight)) * shared;
  }
  return out.view(h.sizes());
}

at::Tensor BuiltinModel::llama_blocks(at::Tensor x, const at::Tensor& positions,
                                      const at::Tensor& allowed_in) {
  const int64_t B = x.size(0), T = x.size(1), D = head_dim_;
  const auto [cos, sin] = rotary(positions);
  at::Tensor local_cos, local_sin;
  if (local_inv_freq_.defined()) std::tie(local_cos, local_sin) = rotary(positions, true);
  const at::Tensor windowed = within_window(allowed_in);
  const auto linear = [](const at::Tensor& in, const at::Tensor& weight, const at::Tensor& bias) {
    return bias.defined() ? at::linear(in, weight, bias) : at::linear(in, weight);
  };
  for (size_t l = 0; l < weights_.blocks.size(); ++l) {
    const BuiltinWeights::Block& w = weights_.blocks[l];
    const int layer = static_cast<int>(l);
    // Gemma's sliding layers see the window (and, Gemma 3, their own rope); its full layers all.
    const bool local = config_.windowed_layer(layer);
    const at::Tensor& allowed = local ? windowed : allowed_in;
    at::Tensor h, q, k, v;
    {
      OpScope scope("input_layernorm", layer);
      h = norm(x, w.ln_1_weight);
    }
    if (w.qkv_weight.defined()) {  // Phi-3: one matmul, split as q | k | v
      OpScope scope("self_attn.qkv_proj", layer);
      const int64_t H = config_.n_head, KV = config_.n_kv_head > 0 ? config_.n_kv_head : H;
      const at::Tensor qkv = at::linear(h, w.qkv_weight);
      q = qkv.narrow(-1, 0, H * D).view({B, T, -1, D});
      k = qkv.narrow(-1, H * D, KV * D).view({B, T, -1, D});
      v = qkv.narrow(-1, (H + KV) * D, KV * D).view({B, T, -1, D}).transpose(1, 2);
    } else {
      {
        OpScope scope("self_attn.q_proj", layer);
        q = linear(h, w.q_weight, w.q_bias).view({B, T, -1, D});
      }
      OpScope scope("self_attn.k_proj", layer);
      k = linear(h, w.k_weight, w.k_bias).view({B, T, -1, D});
    }
    if (w.q_norm_weight.defined()) {  // Qwen3: per head, before the rotary embedding
      OpScope scope("self_attn.q_norm", layer);
      q = norm(q, w.q_norm_weight);
    }
    if (w.k_norm_weight.defined()) {
      OpScope scope("self_attn.k_norm", layer);
      k = norm(k, w.k_norm_weight);
    }
    q = q.transpose(1, 2);
    k = k.transpose(1, 2);
    if (!v.defined()) {
      OpScope scope("self_attn.v_proj", layer);
      v = linear(h, w.v_weight, w.v_bias).view({B, T, -1, D}).transpose(1, 2);
    }
    at::Tensor attended;
    {
      OpScope scope("self_attn", layer);
      const bool own_rope = local && local_inv_freq_.defined();
      q = apply_rotary(q, own_rope ? local_cos : cos, own_rope ? local_sin : sin);
      k = apply_rotary(k, own_rope ? local_cos : cos, own_rope ? local_sin : sin);
      attended = attend(l, q, k, v, allowed).view({B, T, -1});
    }
    if (config_.gemma()) {  // the attention's and the MLP's outputs normalised before the add
      {
        OpScope scope("self_attn.o_proj", layer);
        h = linear(attended, w.attn_proj_weight, w.attn_proj_bias);
      }
      {
        OpScope scope("post_attention_layernorm", layer);
        x = x + norm(h, w.ln_2_weight);
      }
      {
        OpScope scope("pre_feedforward_layernorm", layer);
        h = norm(x, w.pre_mlp_norm_weight);
      }
      const at::Tensor gated = swiglu(w, h, layer);
      {
        OpScope scope("mlp.down_proj", layer);
        h = at::linear(gated, w.down_weight);
      }
      OpScope scope("post_feedforward_layernorm", layer);
      x = x + norm(h, w.post_mlp_norm_weight);
      record_layer_output("model.layers", layer, x);
      continue;
    }
    {
      OpScope scope("self_attn.o_proj", layer);
      x = x + linear(attended, w.attn_proj_weight, w.attn_proj_bias);
    }
    {
      OpScope scope("post_attention_layernorm", layer);
      h = norm(x, w.ln_2_weight);
    }
    if (w.router_weight.defined()) {
      x = x + experts(w, h, layer);
    } else {
      const at::Tensor gated = swiglu(w, h, layer);
      OpScope scope("mlp.down_proj", layer);
      x = x + at::linear(gated, w.down_weight);
    }
    record_layer_output("model.layers", layer, x);
  }
  return x;
}

// GPT-2's blocks: pre-LayerNorm attention and GELU MLP, each added back to
// the residual stream.
at::Tensor BuiltinModel::gpt2_blocks(at::Tensor x, const at::Tensor& allowed) {
  const int64_t B = x.size(0), T = x.size(1), C = config_.n_embd;
  const int64_t H = config_.n_head, D = C / H;
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
      attended = attend(l, qkv.select(2, 0).transpose(1, 2), qkv.select(2, 1).transpose(1, 2),
                        qkv.select(2, 2).transpose(1, 2), allowed);
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
  return x;
}

at::Tensor BuiltinModel::forward(const at::Tensor& ids, const at::Tensor& positions,
                                 const at::Tensor& allowed, bool every_position) {
  const int64_t B = ids.size(0), T = ids.size(1), C = config_.n_embd;
  if (weights_.llama) {
    at::Tensor x;
    {
      OpScope scope("model.embed_tokens");
      x = weights_.wte.index_select(0, ids.reshape(-1)).view({B, T, C});
      // Gemma: scaled by sqrt(width), rounded to the dtype first, as transformers does.
      if (config_.gemma())
        x = x * at::scalar_tensor(std::sqrt(static_cast<double>(C)), at::kFloat).to(dtype_);
    }
    record_layer_output("model.embed_tokens", -1, x);
    x = llama_blocks(x, positions, allowed);
    at::Tensor last = every_position ? x : x.select(1, T - 1);
    {
      OpScope scope("model.norm");
      last = norm(last, weights_.ln_f_weight);
    }
    OpScope scope("lm_head");
    at::Tensor logits =
        soft_cap(at::linear(last, weights_.lm_head.defined() ? weights_.lm_head : weights_.wte),
                 config_.final_logit_softcapping);
    record_layer_output("lm_head", -1, logits);
    return logits;
  }
  // OpScope names where each op runs, as transformers names GPT-2's modules,
  // for the first divergent op (src/explain/).
  at::Tensor x;
  {
    OpScope scope("wte+wpe");
    x = weights_.wte.index_select(0, ids.reshape(-1)).view({B, T, C}) +
        weights_.wpe.index_select(0, positions.reshape(-1)).view({B, T, C});
  }
  record_layer_output("wte+wpe", -1, x);
  x = gpt2_blocks(x, allowed);
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
  reset_cache();
  if (config_.rope_scaling.type == "longrope") seen_ids_ = ids;
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
  if (config_.rope_scaling.type == "longrope") {
    seen_ids_ = at::cat({seen_ids_, next_ids}, 1);
    // As transformers' Phi-3 generation does: the first pass to reach past
    // the original context runs the whole sequence again, so that the keys
    // cached with the short factors are rotated with the long ones.
    if (!cache_length_.empty() &&
        cache_length_[0] == config_.rope_scaling.original_max_position_embeddings) {
      return prefill(seen_ids_, mask);
    }
  }
  at::Tensor positions = mask.sum(1, /*keepdim=*/true) - 1;
  at::Tensor allowed = mask.to(at::kBool).view({mask.size(0), 1, 1, mask.size(1)});
  return forward(next_ids, positions, allowed);
}

std::optional<SequenceScores> BuiltinModel::score(const TokenIds& sequence, size_t prompt_length) {
  const auto n = static_cast<int64_t>(sequence.size());
  // Only GPT-2's learned positions end; rotary ones go on (rope_scaling says how well).
  if (!weights_.llama && n > config_.n_positions) {
    throw Error("a sequence of " + std::to_string(n) + " tokens exceeds " + info_.name +
                "'s context of " + std::to_string(config_.n_positions) + " positions");
  }
  c10::InferenceMode no_autograd;
  return internal::scores_from_logits(logits_without_cache(sequence), sequence, prompt_length);
}

at::Tensor BuiltinModel::logits_without_cache(const TokenIds& ids) {
  const auto n = static_cast<int64_t>(ids.size());
  at::Tensor input = at::tensor(ids, at::kLong).view({1, n}).to(device_);
  at::Tensor positions = at::arange(n, input.options()).view({1, n});
  at::Tensor allowed = at::ones({n, n}, input.options().dtype(at::kBool)).tril().view({1, 1, n, n});
  reset_cache();
  at::Tensor logits = forward(input, positions, allowed, /*every_position=*/true);
  drop_cache();
  return logits[0];
}

at::Tensor BuiltinModel::sequence_logits(const TokenIds& ids) {
  c10::InferenceMode no_autograd;
  return logits_without_cache(ids).to(at::kCPU, at::kFloat);
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
    if (!weights_.llama &&
        static_cast<int64_t>(ids.size()) + config.max_new_tokens > config_.n_positions) {
      throw Error("a prompt of " + std::to_string(ids.size()) + " tokens plus " +
                  std::to_string(config.max_new_tokens) + " new tokens exceeds " + info_.name +
                  "'s context of " + std::to_string(config_.n_positions) + " positions");
    }
  }
  c10::InferenceMode no_autograd;
  try {
    auto out = decode(*this, batch, config, device_, /*pad_id=*/0, info_.eos_token_ids);
    drop_cache();
    return out;
  } catch (const c10::Error& e) {
    drop_cache();
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
