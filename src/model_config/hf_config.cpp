// config.json, generation_config.json and the shard index of a Hugging Face
// checkpoint, read into BuiltinConfig; settings it does not implement are refused.
#include "model_config/hf_config.h"

#include <set>

#include "artifacts/json_io.h"
#include "detllm_test/error.h"

namespace detllm::internal {
namespace {

using nlohmann::json;

constexpr int64_t kMaxSize = int64_t{1} << 31;  // far above any real width or count

class ConfigReader {
 public:
  ConfigReader(const json& config, std::string where) : c_(config), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& problem) const { throw Error(where_ + ": " + problem); }
  const std::string& where() const { return where_; }
  bool has(const char* key) const { return c_.contains(key) && !c_[key].is_null(); }
  bool has_null(const char* key) const { return c_.contains(key) && c_[key].is_null(); }

  // A positive integer that must be there (under `key` or its older `alias`).
  int64_t required(const char* key, const char* alias = nullptr) const {
    const char* found = has(key) ? key : alias && has(alias) ? alias : nullptr;
    if (!found) fail(std::string("has no ") + key);
    return integer_field(c_, found, 0, 1, kMaxSize, where_);
  }
  int64_t optional(const char* key, int64_t fallback) const {
    return integer_field(c_, key, fallback, 1, kMaxSize, where_);
  }
  double number(const char* key, double fallback) const {
    return number_field(c_, key, fallback, where_);
  }
  bool flag(const char* key, bool fallback) const { return bool_field(c_, key, fallback, where_); }
  std::string text(const char* key, const std::string& fallback) const {
    return string_field(c_, key, fallback, where_);
  }
  // Refuses a setting whose value differs from the one implemented.
  void refuse_flag(const char* key, bool implemented) const {
    if (flag(key, implemented) != implemented) {
      fail(std::string(key) + "=" + (implemented ? "false" : "true") + " is not supported");
    }
  }
  const json& operator[](const char* key) const { return c_[key]; }

 private:
  const json& c_;
  std::string where_;
};

BuiltinConfig read_gpt2(const ConfigReader& c) {
  BuiltinConfig config;
  config.preset = "gpt2";
  config.n_layer = c.required("n_layer");
  config.n_head = c.required("n_head");
  config.n_embd = c.required("n_embd");
  config.n_positions = c.required("n_positions", "n_ctx");
  config.vocab_size = c.required("vocab_size");
  config.n_inner = c.has("n_inner") ? c.required("n_inner") : 0;
  config.layer_norm_epsilon = c.number("layer_norm_epsilon", 1e-5);
  config.activation_function = c.text("activation_function", "gelu_new");
  if (config.n_embd % config.n_head != 0) c.fail("n_embd is not a multiple of n_head");
  c.refuse_flag("scale_attn_weights", true);
  c.refuse_flag("scale_attn_by_inverse_layer_idx", false);
  c.refuse_flag("add_cross_attention", false);
  return config;
}

void read_rope_parameters(const ConfigReader& c, const ConfigReader& r, BuiltinConfig& config);

// rope_scaling, or transformers 5's rope_parameters (which also holds
// rope_theta), which Gemma 3 keeps per layer type (full_attention,
// sliding_attention: its local layers' rope, which must be the default).
void read_rope(const ConfigReader& c, BuiltinConfig& config, double default_theta = 10000.0) {
  config.rope_theta = c.number("rope_theta", default_theta);
  const char* key = c.has("rope_parameters") ? "rope_parameters" : "rope_scaling";
  if (!c.has(key)) return;
  if (!c[key].is_object()) c.fail(std::string(key) + " is not an object");
  const nlohmann::json& parameters = c[key];
  if (!parameters.contains("full_attention") && !parameters.contains("sliding_attention")) {
    read_rope_parameters(c, ConfigReader(parameters, c.where() + " " + key), config);
    return;
  }
  for (const auto& [layer_type, value] : parameters.items()) {
    if (layer_type != "full_attention" && layer_type != "sliding_attention") {
      c.fail(std::string(key) + " has rope parameters for layer type '" + layer_type +
             "'; expected full_attention and sliding_attention");
    }
    if (!value.is_object()) c.fail(std::string(key) + "." + layer_type + " is not an object");
  }
  if (parameters.contains("full_attention")) {
    read_rope_parameters(
        c, ConfigReader(parameters["full_attention"], c.where() + " " + key + ".full_attention"),
        config);
  }
  if (parameters.contains("sliding_attention")) {
    const ConfigReader local(parameters["sliding_attention"],
                             c.where() + " " + key + ".sliding_attention");
    const std::string type = local.text("rope_type", local.text("type", "default"));
    if (type != "default") local.fail("type '" + type + "' is not supported; expected default");
    config.rope_local_theta = local.number("rope_theta", 10000.0);
    if (!(config.rope_local_theta > 0)) local.fail("rope_theta must be positive");
  }
}

void read_rope_parameters(const ConfigReader& c, const ConfigReader& r, BuiltinConfig& config) {
  config.rope_theta = r.number("rope_theta", config.rope_theta);
  // transformers 5 may keep it here rather than at the top level (Phi-4-mini).
  if (r.has("partial_rotary_factor") && r.number("partial_rotary_factor", 1.0) != 1.0) {
    r.fail("partial_rotary_factor other than 1 is not supported");
  }
  if (!(config.rope_theta > 0)) c.fail("rope_theta must be positive");
  const std::string type = r.text("rope_type", r.text("type", "default"));
  if (type == "default") return;
  if (type != "linear" && type != "dynamic" && type != "llama3" && type != "yarn" &&
      type != "longrope") {
    r.fail("type '" + type +
           "' is not supported; expected default, linear, dynamic, llama3, yarn or longrope");
  }
  RopeScaling& s = config.rope_scaling;
  s.type = type;
  if (type == "yarn" || type == "longrope") {
    // As transformers reads it: the top-level original_max_position_embeddings
    // (Phi-3 keeps it there) wins, then rope's own, then max_position_embeddings;
    // without a factor, the ratio of the two lengths.
    s.original_max_position_embeddings =
        c.has("original_max_position_embeddings")
            ? c.optional("original_max_position_embeddings", config.n_positions)
            : r.optional("original_max_position_embeddings", config.n_positions);
    if (s.original_max_position_embeddings <= 0)
      r.fail("original_max_position_embeddings must be positive");
    s.factor = r.has("factor") && !r["factor"].is_null()
                   ? r.number("factor", 1.0)
                   : static_cast<double>(config.n_positions) / s.original_max_position_embeddings;
    s.beta_fast = r.has("beta_fast") && !r["beta_fast"].is_null() ? r.number("beta_fast", 32) : 32;
    s.beta_slow = r.has("beta_slow") && !r["beta_slow"].is_null() ? r.number("beta_slow", 1) : 1;
    s.truncate = r.flag("truncate", true);
    s.attention_factor = r.has("attention_factor") && !r["attention_factor"].is_null()
                             ? r.number("attention_factor", 0)
                             : 0;
    s.mscale = r.has("mscale") && !r["mscale"].is_null() ? r.number("mscale", 0) : 0;
    s.mscale_all_dim = r.has("mscale_all_dim") && !r["mscale_all_dim"].is_null()
                           ? r.number("mscale_all_dim", 0)
                           : 0;
    if (!(s.factor > 0)) r.fail("factor must be positive");
    if (type == "longrope") {
      for (const char* key : {"short_factor", "long_factor"}) {
        if (!r.has(key) || !r[key].is_array()) r.fail(std::string("has no ") + key + " list");
        std::vector<double>& factors = key[0] == 's' ? s.short_factor : s.long_factor;
        for (size_t i = 0; i < r[key].size(); ++i) {
          const nlohmann::json& f = r[key][i];
          if (!f.is_number() || !(f.get<double>() > 0)) {
            r.fail(std::string(key) + "[" + std::to_string(i) + "] is not a positive number");
          }
          factors.push_back(f.get<double>());
        }
      }
    }
    return;
  }
  if (!r.has("factor")) r.fail("has no factor");
  s.factor = r.number("factor", 1.0);
  if (!(s.factor >= 1.0 || (type == "linear" && s.factor > 0))) {
    r.fail("factor " + r["factor"].dump() + " is out of range");
  }
  if (type == "llama3") {
    s.low_freq_factor = r.number("low_freq_factor", 1.0);
    s.high_freq_factor = r.number("high_freq_factor", 4.0);
    s.original_max_position_embeddings = r.optional("original_max_position_embeddings", 8192);
    if (!(s.high_freq_factor > s.low_freq_factor) || !(s.low_freq_factor > 0)) {
      r.fail("needs high_freq_factor > low_freq_factor > 0");
    }
  }
}

// The experts of qwen3_moe, qwen2_moe and mixtral. transformers 5 writes
// Qwen3-MoE's expert count as num_local_experts, older checkpoints as num_experts.
void read_experts(const ConfigReader& c, BuiltinConfig& config) {
  const bool mixtral = config.family().experts == ModelFamily::Experts::kMixtral;
  config.n_experts =
      mixtral ? c.required("num_local_experts") : c.required("num_experts", "num_local_experts");
  config.n_experts_per_token = c.required("num_experts_per_tok");
  if (config.n_experts_per_token > config.n_experts) {
    c.fail("num_experts_per_tok (" + std::to_string(config.n_experts_per_token) +
           ") exceeds the number of experts (" + std::to_string(config.n_experts) + ")");
  }
  // Mixtral's experts are intermediate_size wide and always renormalised.
  config.moe_inner = mixtral ? config.n_inner : c.required("moe_intermediate_size");
  config.norm_topk_prob = mixtral || c.flag("norm_topk_prob", false);
  if (mixtral) return;
  if (config.family().experts == ModelFamily::Experts::kQwenShared) {
    config.shared_expert_inner = c.required("shared_expert_intermediate_size");
  }
  config.decoder_sparse_step = c.optional("decoder_sparse_step", 1);
  if (c.has("mlp_only_layers")) {
    const nlohmann::json& layers = c["mlp_only_layers"];
    if (!layers.is_array()) c.fail("mlp_only_layers is not a list");
    for (size_t i = 0; i < layers.size(); ++i) {
      config.mlp_only_layers.push_back(
          integer_field(nlohmann::json{{"layer", layers[i]}}, "layer", 0, 0, config.n_layer - 1,
                        c.where() + " mlp_only_layers[" + std::to_string(i) + "]"));
    }
  }
}

// A number that may be null (0: none), with transformers' default when absent.
double optional_number(const ConfigReader& c, const char* key, double fallback) {
  if (!c.has(key)) return c.has_null(key) ? 0 : fallback;
  return c.number(key, fallback);
}

// Gemma 2 and 3. Configs without layer_types (older checkpoints) get
// transformers' pattern: every other layer sliding (Gemma 2), or five in
// every sliding_window_pattern (Gemma 3).
void read_gemma(const ConfigReader& c, BuiltinConfig& config) {
  const bool gemma3 = config.family().gemma == ModelFamily::Gemma::kGemma3;
  config.tie_word_embeddings = c.flag("tie_word_embeddings", true);
  config.query_pre_attn_scalar = optional_number(c, "query_pre_attn_scalar", 256);
  config.attn_logit_softcapping = optional_number(c, "attn_logit_softcapping", gemma3 ? 0 : 50);
  config.final_logit_softcapping = optional_number(c, "final_logit_softcapping", gemma3 ? 0 : 30);
  if (config.query_pre_attn_scalar < 0 || config.attn_logit_softcapping < 0 ||
      config.final_logit_softcapping < 0) {
    c.fail("query_pre_attn_scalar and the softcappings must not be negative");
  }
  config.sliding_window = c.has("sliding_window")        ? c.optional("sliding_window", 4096)
                          : c.has_null("sliding_window") ? 0
                                                         : 4096;
  if (gemma3) {
    c.refuse_flag("use_bidirectional_attention", false);
    if (config.rope_local_theta == 0) {
      config.rope_local_theta = c.number("rope_local_base_freq", 10000.0);
    }
  }
  config.sliding_layers.clear();
  if (c.has("layer_types")) {
    const nlohmann::json& types = c["layer_types"];
    if (!types.is_array() || static_cast<int64_t>(types.size()) != config.n_layer) {
      c.fail("layer_types must list one type per layer (" + std::to_string(config.n_layer) + ")");
    }
    for (const nlohmann::json& type : types) {
      if (type != "sliding_attention" && type != "full_attention") {
        c.fail("layer_types holds " + type.dump() +
               "; expected \"sliding_attention\" or \"full_attention\"");
      }
      config.sliding_layers.push_back(type == "sliding_attention");
    }
    return;
  }
  const int64_t pattern = gemma3 ? c.optional("sliding_window_pattern", 6) : 2;
  for (int64_t i = 0; i < config.n_layer; ++i)
    config.sliding_layers.push_back((i + 1) % pattern != 0);
}

BuiltinConfig read_llama(const ConfigReader& c, const ModelFamily& family) {
  BuiltinConfig config;
  config.preset = family.model_type;
  config.model_type = family.model_type;
  config.n_embd = c.required("hidden_size");
  config.n_layer = c.required("num_hidden_layers");
  config.n_head = c.required("num_attention_heads");
  config.n_kv_head = c.optional("num_key_value_heads", config.n_head);
  config.n_inner = c.required("intermediate_size");
  config.vocab_size = c.required("vocab_size");
  config.n_positions = c.required("max_position_embeddings");
  config.head_dim = c.optional("head_dim", 0);
  config.layer_norm_epsilon = c.number("rms_norm_eps", 1e-6);
  config.tie_word_embeddings = c.flag("tie_word_embeddings", false);
  // Gemma's MLP is a tanh-GELU GLU (hidden_activation), the others' SwiGLU.
  const bool gemma = config.gemma();
  const char* activation_key =
      gemma && c.has("hidden_activation") ? "hidden_activation" : "hidden_act";
  const std::string expected = gemma ? "gelu_pytorch_tanh" : "silu";
  config.activation_function = c.text(activation_key, expected);
  if (config.activation_function != expected) {
    c.fail(std::string(activation_key) + " '" + config.activation_function +
           "' is not supported; expected " + expected);
  }
  if (config.head_dim == 0 && config.n_embd % config.n_head != 0) {
    c.fail("hidden_size is not a multiple of num_attention_heads (and there is no head_dim)");
  }
  if (config.n_head % config.n_kv_head != 0) {
    c.fail("num_attention_heads is not a multiple of num_key_value_heads");
  }
  if (c.has("partial_rotary_factor") && c.number("partial_rotary_factor", 1.0) != 1.0) {
    c.fail("partial_rotary_factor other than 1 is not supported");
  }
  read_rope(c, config, family.default_rope_theta);
  if (gemma) read_gemma(c, config);
  switch (family.biases) {
    case ModelFamily::Biases::kAttentionBias:
      config.attention_bias = config.attention_output_bias = c.flag("attention_bias", false);
      break;
    case ModelFamily::Biases::kQkv:
      config.attention_bias = true;
      break;
    case ModelFamily::Biases::kQkvFlag:
      config.attention_bias = c.flag("qkv_bias", true);
      break;
  }
  config.qk_norm = family.qk_norm;
  if (family.no_sliding_window) c.refuse_flag("use_sliding_window", false);
  if (family.refuses_mlp_bias) c.refuse_flag("mlp_bias", false);
  if (family.sliding_window_key && c.has("sliding_window")) {
    config.sliding_window = c.optional("sliding_window", 0);
  }
  if (family.experts != ModelFamily::Experts::kNone) read_experts(c, config);
  return config;
}

}  // namespace

BuiltinConfig read_hf_config(const json& config, const std::string& where) {
  ConfigReader c(config, where);
  if (!config.is_object()) c.fail("not a JSON object");
  const std::string model_type = c.text("model_type", "gpt2");
  if (const ModelFamily* family = find_model_family(model_type)) {
    return family->llama_architecture ? read_llama(c, *family) : read_gpt2(c);
  }
  c.fail("model_type '" + model_type + "' is not supported; expected " +
         BuiltinConfig::supported_model_types());
}

std::vector<int64_t> read_eos_token_ids(const json& config, const std::string& where) {
  if (!config.is_object()) throw Error(where + ": not a JSON object");
  const json eos = config.value("eos_token_id", json());
  if (eos.is_null()) return {};
  const json list = eos.is_array() ? eos : json::array({eos});
  std::vector<int64_t> ids;
  for (size_t i = 0; i < list.size(); ++i) {
    ids.push_back(integer_field(json{{"id", list[i]}}, "id", 0, 0, kMaxSize,
                                where + " eos_token_id[" + std::to_string(i) + "]"));
  }
  return ids;
}

json hf_config_json(const BuiltinConfig& c) {
  if (!c.is_llama_architecture()) {
    return {{"model_type", "gpt2"},
            {"architectures", {"GPT2LMHeadModel"}},
            {"vocab_size", c.vocab_size},
            {"n_positions", c.n_positions},
            {"n_embd", c.n_embd},
            {"n_layer", c.n_layer},
            {"n_head", c.n_head},
            {"n_inner", c.n_inner > 0 ? json(c.n_inner) : json(nullptr)},
            {"activation_function", c.activation_function},
            {"layer_norm_epsilon", c.layer_norm_epsilon},
            {"tie_word_embeddings", c.tie_word_embeddings}};
  }
  const ModelFamily& family = c.family();
  json config = {{"model_type", c.model_type},
                 {"architectures", {family.architecture}},
                 {"vocab_size", c.vocab_size},
                 {"max_position_embeddings", c.n_positions},
                 {"hidden_size", c.n_embd},
                 {"num_hidden_layers", c.n_layer},
                 {"num_attention_heads", c.n_head},
                 {"num_key_value_heads", c.n_kv_head > 0 ? c.n_kv_head : c.n_head},
                 {"intermediate_size", c.n_inner > 0 ? c.n_inner : 4 * c.n_embd},
                 {"hidden_act", c.activation_function},
                 {"rms_norm_eps", c.layer_norm_epsilon},
                 {"rope_theta", c.rope_theta},
                 {"tie_word_embeddings", c.tie_word_embeddings}};
  if (c.head_dim > 0) config["head_dim"] = c.head_dim;
  const RopeScaling& r = c.rope_scaling;
  if (r.type != "default") {
    config["rope_scaling"] = {{"rope_type", r.type}, {"factor", r.factor}};
    if (r.type == "llama3") {
      config["rope_scaling"].update(
          {{"low_freq_factor", r.low_freq_factor},
           {"high_freq_factor", r.high_freq_factor},
           {"original_max_position_embeddings", r.original_max_position_embeddings}});
    }
    if (r.type == "longrope") {
      config["rope_scaling"] = {
          {"rope_type", r.type}, {"short_factor", r.short_factor}, {"long_factor", r.long_factor}};
      config["original_max_position_embeddings"] = r.original_max_position_embeddings;
      if (r.attention_factor > 0) config["rope_scaling"]["attention_factor"] = r.attention_factor;
    }
    if (r.type == "yarn") {
      config["rope_scaling"].update(
          {{"original_max_position_embeddings", r.original_max_position_embeddings},
           {"beta_fast", r.beta_fast},
           {"beta_slow", r.beta_slow},
           {"truncate", r.truncate}});
      if (r.attention_factor > 0) config["rope_scaling"]["attention_factor"] = r.attention_factor;
      if (r.mscale > 0) config["rope_scaling"]["mscale"] = r.mscale;
      if (r.mscale_all_dim > 0) config["rope_scaling"]["mscale_all_dim"] = r.mscale_all_dim;
    }
  }
  if (family.biases == ModelFamily::Biases::kAttentionBias) {
    config["attention_bias"] = c.attention_bias;
  } else if (family.biases == ModelFamily::Biases::kQkvFlag) {
    config["qkv_bias"] = c.attention_bias;
  }
  if (family.no_sliding_window) config["use_sliding_window"] = false;
  if (family.sliding_window_key) {
    config["sliding_window"] = c.sliding_window > 0 ? json(c.sliding_window) : json(nullptr);
  }
  if (c.gemma()) {
    config.erase("hidden_act");
    config["hidden_activation"] = c.activation_function;
    // 0 scales by head_dim^-0.5: written as that head_dim.
    const int64_t head_dim = c.head_dim > 0 ? c.head_dim : c.n_embd / c.n_head;
    config["query_pre_attn_scalar"] =
        c.query_pre_attn_scalar > 0 ? json(c.query_pre_attn_scalar) : json(head_dim);
    config["attn_logit_softcapping"] =
        c.attn_logit_softcapping > 0 ? json(c.attn_logit_softcapping) : json(nullptr);
    config["final_logit_softcapping"] =
        c.final_logit_softcapping > 0 ? json(c.final_logit_softcapping) : json(nullptr);
    config["sliding_window"] = c.sliding_window > 0 ? json(c.sliding_window) : json(nullptr);
    json types = json::array();
    for (int64_t l = 0; l < c.n_layer; ++l) {
      types.push_back(c.windowed_layer(l) ? "sliding_attention" : "full_attention");
    }
    config["layer_types"] = types;
    if (c.rope_local_theta > 0) config["rope_local_base_freq"] = c.rope_local_theta;
  }
  if (c.n_experts > 0) {
    config["num_experts_per_tok"] = c.n_experts_per_token;
    if (family.experts == ModelFamily::Experts::kMixtral) {
      config["num_local_experts"] = c.n_experts;
    } else {
      config["num_experts"] = c.n_experts;
      config["moe_intermediate_size"] = c.moe_inner;
      config["norm_topk_prob"] = c.norm_topk_prob;
      config["decoder_sparse_step"] = c.decoder_sparse_step;
      config["mlp_only_layers"] = c.mlp_only_layers;
    }
    if (c.shared_expert_inner > 0) {
      config["shared_expert_intermediate_size"] = c.shared_expert_inner;
    }
  }
  return config;
}

}  // namespace detllm::internal
