// Llama-architecture checkpoints (Llama, Mistral, Qwen2): tiny random
// checkpoints written as transformers writes them, checked against a float64
// forward pass written from the architecture's definition, plus loading,
// refusals and generation_config.json.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "artifacts/json_io.h"
#include "artifacts/sha256.h"
#include "checkpoint/tensor_file.h"
#include "detllm_test/check.h"
#include "detllm_test/error.h"
#include "detllm_test/models.h"
#include "model_config/hf_config.h"
#include "models/builtin_model.h"
#include "reference_check.h"
#include "test_models.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;

// The Llama architecture in float64, one pass over the whole sequence, from
// its definition: RMSNorm, rotary embeddings (with rope scaling), grouped-query
// causal attention (with Mistral's sliding window), SwiGLU, final norm, head.
class ReferenceLlama {
 public:
  explicit ReferenceLlama(const std::string& dir)
      : c_(internal::read_hf_config(internal::read_json_file(dir + "/config.json", "config"),
                                    "config")) {
    const internal::SafetensorsCheckpoint file(dir);
    for (const std::string& name : file.names()) weights_[name] = file.read(name).to(at::kDouble);
  }

  at::Tensor next_logits(const TokenIds& ids) const {
    const int64_t T = static_cast<int64_t>(ids.size()), H = c_.n_head;
    const int64_t KV = c_.n_kv_head > 0 ? c_.n_kv_head : H;
    const int64_t D = c_.head_dim > 0 ? c_.head_dim : c_.n_embd / H;
    at::Tensor x = w("model.embed_tokens.weight").index_select(0, at::tensor(ids, at::kLong));
    const auto [cos, sin] = rotary(T, D);
    at::Tensor allowed = at::ones({T, T}, at::kBool).tril();
    if (c_.sliding_window > 0) {
      const at::Tensor i = at::arange(T).view({T, 1}), j = at::arange(T).view({1, T});
      allowed = allowed.logical_and(i - j < c_.sliding_window);
    }
    const auto rope = [&, cos = cos, sin = sin](const at::Tensor& t) {  // [heads, T, D]
      const at::Tensor a = t.narrow(2, 0, D / 2), b = t.narrow(2, D / 2, D / 2);
      return at::cat({a * cos - b * sin, b * cos + a * sin}, 2);
    };
    for (int64_t l = 0; l < c_.n_layer; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      const at::Tensor a = rms(x, w(p + "input_layernorm.weight"));
      const auto project = [&](const std::string& name, int64_t heads) {
        at::Tensor y = a.matmul(w(p + "self_attn." + name + ".weight").t());
        if (has(p + "self_attn." + name + ".bias")) y = y + w(p + "self_attn." + name + ".bias");
        return y.view({T, heads, D}).permute({1, 0, 2});
      };
      const at::Tensor q = rope(project("q_proj", H)), k = rope(project("k_proj", KV));
      const at::Tensor v = project("v_proj", KV);
      std::vector<at::Tensor> heads;
      for (int64_t h = 0; h < H; ++h) {
        const int64_t g = h / (H / KV);  // the key/value head query head h shares
        at::Tensor scores = q[h].matmul(k[g].t()) / std::sqrt(static_cast<double>(D));
        scores = scores.masked_fill(allowed.logical_not(), -INFINITY);
        heads.push_back(at::softmax(scores, -1).matmul(v[g]));
      }
      at::Tensor attended = at::cat(heads, 1).matmul(w(p + "self_attn.o_proj.weight").t());
      if (has(p + "self_attn.o_proj.bias")) attended = attended + w(p + "self_attn.o_proj.bias");
      x = x + attended;
      const at::Tensor m = rms(x, w(p + "post_attention_layernorm.weight"));
      const at::Tensor gate = m.matmul(w(p + "mlp.gate_proj.weight").t());
      const at::Tensor up = m.matmul(w(p + "mlp.up_proj.weight").t());
      x = x + (gate * at::sigmoid(gate) * up).matmul(w(p + "mlp.down_proj.weight").t());
    }
    x = rms(x, w("model.norm.weight"));
    const bool tied = c_.tie_word_embeddings || !has("lm_head.weight");
    return x[T - 1].matmul(w(tied ? "model.embed_tokens.weight" : "lm_head.weight").t());
  }

 private:
  bool has(const std::string& name) const { return weights_.count(name) != 0; }
  const at::Tensor& w(const std::string& name) const { return weights_.at(name); }
  at::Tensor rms(const at::Tensor& x, const at::Tensor& weight) const {
    return x / at::sqrt(x.pow(2).mean(-1, true) + c_.layer_norm_epsilon) * weight;
  }
  // cos and sin [T, D/2] of position t times frequency i.
  std::pair<at::Tensor, at::Tensor> rotary(int64_t T, int64_t D) const {
    const RopeScaling& r = c_.rope_scaling;
    double base = c_.rope_theta;
    if (r.type == "dynamic" && T > c_.n_positions) {
      base *= std::pow(r.factor * T / c_.n_positions - (r.factor - 1), double(D) / (D - 2));
    }
    std::vector<double> freq;
    for (int64_t i = 0; i < D / 2; ++i) {
      double f = std::pow(base, -2.0 * i / D);
      if (r.type == "linear") f /= r.factor;
      if (r.type == "llama3") {
        const double old = r.original_max_position_embeddings, wavelen = 2 * M_PI / f;
        if (wavelen > old / r.low_freq_factor) {
          f /= r.factor;
        } else if (wavelen >= old / r.high_freq_factor) {
          const double s =
              (old / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
          f = (1 - s) * f / r.factor + s * f;
        }
      }
      freq.push_back(f);
    }
    const at::Tensor angles =
        at::arange(T, at::kDouble).view({T, 1}) * at::tensor(freq, at::kDouble).view({1, D / 2});
    return {angles.cos(), angles.sin()};
  }

  BuiltinConfig c_;
  std::map<std::string, at::Tensor> weights_;
};

// Prompts of token ids, of several lengths (left padding in a batch).
const std::vector<TokenIds> kPrompts = {{72, 101, 108, 108, 111},
                                        {84, 104, 101, 32, 99, 97, 116, 32, 115, 97, 116},
                                        {50},
                                        {10, 200, 30, 140, 50, 60, 170}};

void expect_matches_reference(const std::string& dir, const ModelOptions& options = {}) {
  auto model = load_hf_model(dir, options);
  const ReferenceLlama reference(dir);
  testing::expect_greedy_matches_reference(
      *model, kPrompts, [&](const TokenIds& ids) { return reference.next_logits(ids); });
}

TEST(LlamaCheckpoint, GroupedQueryAttentionBiasesAndLlama3RopeMatchTheReference) {
  testing::TempDir dir;
  testing::TinyLlama tiny;
  tiny.config.attention_bias = tiny.config.attention_output_bias = true;
  tiny.config.rope_scaling.type = "llama3";
  tiny.config.rope_scaling.factor = 4;
  tiny.config.rope_scaling.original_max_position_embeddings = 16;
  testing::write_tiny_llama(dir.path(), tiny);
  expect_matches_reference(dir.path());
}

TEST(LlamaCheckpoint, Qwen2WithHeadDimTiedHeadAndOneKeyValueHeadMatchesTheReference) {
  testing::TempDir dir;
  testing::TinyLlama tiny;
  tiny.config.model_type = "qwen2";
  tiny.config.head_dim = 12;  // not n_embd / n_head
  tiny.config.n_kv_head = 1;
  tiny.config.tie_word_embeddings = true;
  tiny.config.rope_theta = 1e6;
  testing::write_tiny_llama(dir.path(), tiny);
  EXPECT_TRUE(
      internal::SafetensorsCheckpoint(dir.path()).contains("model.layers.0.self_attn.q_proj.bias"));
  expect_matches_reference(dir.path());
}

TEST(LlamaCheckpoint, MistralSlidingWindowAndLinearRopeMatchTheReference) {
  testing::TempDir dir;
  testing::TinyLlama tiny;
  tiny.config.model_type = "mistral";
  tiny.config.sliding_window = 4;  // shorter than most prompts plus their new tokens
  tiny.config.rope_scaling.type = "linear";
  tiny.config.rope_scaling.factor = 2;
  testing::write_tiny_llama(dir.path(), tiny);
  expect_matches_reference(dir.path());
  // The window matters: without it the model says something else.
  json config = internal::read_json_file(dir.path() + "/config.json", "config");
  config["sliding_window"] = nullptr;
  std::ofstream(dir.path() + "/config.json") << config.dump();
  GenerationConfig greedy;
  greedy.max_new_tokens = 8;
  const auto unwindowed = load_hf_model(dir.path())->generate(kPrompts, greedy)[1].logprobs;
  config["sliding_window"] = 4;
  std::ofstream(dir.path() + "/config.json") << config.dump();
  EXPECT_NE(load_hf_model(dir.path())->generate(kPrompts, greedy)[1].logprobs, unwindowed);
}

TEST(LlamaCheckpoint, DynamicRopeBeyondTheContextMatchesTheReference) {
  testing::TempDir dir;
  testing::TinyLlama tiny;
  tiny.config.n_positions = 8;
  tiny.config.rope_scaling.type = "dynamic";
  tiny.config.rope_scaling.factor = 2;
  testing::write_tiny_llama(dir.path(), tiny);
  auto model = load_hf_model(dir.path());
  auto* builtin = dynamic_cast<internal::BuiltinModel*>(model.get());
  ASSERT_NE(builtin, nullptr);
  const ReferenceLlama reference(dir.path());
  for (size_t length : {5, 8, 9, 20}) {
    SCOPED_TRACE("length " + std::to_string(length));
    TokenIds ids;
    for (size_t i = 0; i < length; ++i) ids.push_back(static_cast<int64_t>((i * 37 + 11) % 256));
    const at::Tensor expected = reference.next_logits(ids);
    const at::Tensor actual = builtin->sequence_logits(ids)[-1].to(at::kDouble);
    EXPECT_LT((actual - expected).abs().max().item<double>(), 1e-4);
  }
}

TEST(LlamaCheckpoint, HalfPrecisionWeightsAndShardsLoad) {
  for (const std::string dtype : {"BF16", "F16"}) {
    SCOPED_TRACE(dtype);
    testing::TempDir dir;
    testing::TinyLlama tiny;
    tiny.dtype = dtype;
    tiny.shards = 3;
    testing::write_tiny_llama(dir.path(), tiny);
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/model.safetensors"));
    expect_matches_reference(dir.path());
    const ModelInfo info = load_hf_model(dir.path())->info();
    ASSERT_GE(info.files.size(), 4u);  // the index, three shards, config.json, tokenizer.json
    EXPECT_EQ(info.files[0].path, dir.path() + "/model.safetensors.index.json");
    EXPECT_EQ(info.files[3].path, dir.path() + "/model-00003-of-00003.safetensors");
  }
}

TEST(LlamaCheckpoint, ReducedPrecisionComputeIsRepeatableAndCloseToFloat32) {
  testing::TempDir dir, packs;
  testing::write_tiny_llama(dir.path());
  GenerationConfig greedy;
  greedy.max_new_tokens = 1;
  const auto reference = load_hf_model(dir.path())->generate(kPrompts, greedy);
  for (const std::string dtype : {"bfloat16", "float16"}) {
    SCOPED_TRACE(dtype);
    ModelOptions options;
    options.dtype = dtype;
    if (!unsupported_reason(options).empty()) continue;  // float16 on libtorch 1.13's CPU
    auto model = load_hf_model(dir.path(), options);
    EXPECT_EQ(model->info().dtype, dtype);
    const auto out = model->generate(kPrompts, greedy);
    for (size_t p = 0; p < kPrompts.size(); ++p) {
      if (reference[p].logit_margins[0] > 0.5) {
        EXPECT_EQ(out[p].tokens, reference[p].tokens);
      }
      EXPECT_NEAR(out[p].logprobs[0], reference[p].logprobs[0], 0.1);
    }
    CheckOptions check_options;
    check_options.runs = 2;
    check_options.decoding.max_new_tokens = 4;
    check_options.out_dir = packs.path();
    const CheckResult result = check(*model, {"the cat", "Hello"}, check_options);
    EXPECT_TRUE(result.passed()) << result.report.headline();
  }
}

TEST(LlamaCheckpoint, LoadModelTakesTheDirectoryAndRecordsEveryFile) {
  testing::TempDir dir, packs;
  testing::TinyLlama tiny;
  tiny.eos = {257};
  testing::write_tiny_llama(dir.path(), tiny);
  auto model = load_model(dir.path());
  const ModelInfo info = model->info();
  EXPECT_EQ(info.name, dir.path());
  EXPECT_EQ(info.eos_token_ids, std::vector<int64_t>{257});
  ASSERT_EQ(info.files.size(), 4u);
  EXPECT_EQ(info.files[0].path, dir.path() + "/model.safetensors");
  EXPECT_EQ(info.files[1].path, dir.path() + "/config.json");
  EXPECT_EQ(info.files[2].path, dir.path() + "/generation_config.json");
  EXPECT_EQ(info.files[3].path, dir.path() + "/tokenizer.json");
  for (const ModelFile& file : info.files) EXPECT_EQ(file.sha256, internal::sha256_file(file.path));
  EXPECT_THAT(model->tokenizer().id(), StartsWith("hf-bpe:"));
  EXPECT_EQ(model->tokenizer().encode("Hi")[0], 256) << "the BOS token comes first";

  CheckOptions options;
  options.runs = 2;
  options.vary_batch = {1, 3};
  options.decoding.max_new_tokens = 6;
  options.out_dir = packs.path();
  const CheckResult result = check(*model, {"the cat", "Hello, world!", "x"}, options);
  EXPECT_TRUE(result.passed()) << result.report.headline();
  const json run_config =
      internal::read_json_file(result.pack_dir + "/run_config.json", "run_config");
  EXPECT_EQ(run_config["tokenizer"]["id"], model->tokenizer().id());
  EXPECT_EQ(run_config["model_files"][3]["path"], dir.path() + "/tokenizer.json");
  EXPECT_EQ(run_config["model_files"][3]["sha256"], info.files[3].sha256);
}

// generation_config.json's eos tokens end a row; eos_token_id replaces them
// and ignore_eos turns them off.
TEST(LlamaCheckpoint, GenerationConfigEosTokensStopGeneration) {
  testing::TempDir dir;
  testing::write_tiny_llama(dir.path());
  GenerationConfig greedy;
  greedy.max_new_tokens = 8;
  const Generation free_run = load_hf_model(dir.path())->generate({kPrompts[1]}, greedy)[0];
  ASSERT_EQ(free_run.tokens.size(), 8u);
  testing::TinyLlama tiny;
  tiny.eos = {free_run.tokens[2], 255};
  testing::write_tiny_llama(dir.path(), tiny);
  auto model = load_hf_model(dir.path());
  EXPECT_EQ(model->generate({kPrompts[1]}, greedy)[0].tokens.size(), 3u);
  greedy.ignore_eos = true;
  EXPECT_EQ(model->generate({kPrompts[1]}, greedy)[0].tokens, free_run.tokens);
  greedy.ignore_eos = false;
  greedy.eos_token_id = free_run.tokens[4];
  EXPECT_EQ(model->generate({kPrompts[1]}, greedy)[0].tokens.size(), 5u);
}

TEST(LlamaCheckpoint, SavedBuiltinLlamaLoadsBackIdentically) {
  testing::TempDir dir;
  auto builtin = make_builtin_model(BuiltinConfig::llama_tiny());
  save_hf_checkpoint(*builtin, dir.path());
  std::ofstream(dir.path() + "/tokenizer.json") << testing::tiny_llama_tokenizer_json().dump();
  auto loaded = load_hf_model(dir.path());
  GenerationConfig greedy;
  greedy.max_new_tokens = 10;
  const auto a = builtin->generate(kPrompts, greedy), b = loaded->generate(kPrompts, greedy);
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens);
    EXPECT_EQ(a[i].logprobs, b[i].logprobs);
  }
  const json config = internal::read_json_file(dir.path() + "/config.json", "config");
  EXPECT_EQ(config["model_type"], "llama");
  EXPECT_EQ(config["num_key_value_heads"], 2);
  EXPECT_EQ(config["tie_word_embeddings"], false);
}

class BadLlamaCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_tiny_llama(dir_.path()); }
  std::string path(const std::string& name) const { return dir_.path() + "/" + name; }
  void edit_config(const std::function<void(json&)>& edit) {
    json config = internal::read_json_file(path("config.json"), "config");
    edit(config);
    std::ofstream(path("config.json")) << config.dump();
  }
  void expect_load_error(const std::string& message) {
    EXPECT_ERROR_MENTIONS(load_hf_model(dir_.path()), message);
  }
  testing::TempDir dir_;
};

TEST_F(BadLlamaCheckpoint, OtherArchitecturesAndSettingsAreRefusedByName) {
  const std::pair<std::function<void(json&)>, std::string> cases[] = {
      {[](json& c) { c["model_type"] = "gemma"; },
       "model_type 'gemma' is not supported; expected gpt2, llama, mistral, qwen2, qwen3, phi3, "
       "qwen3_moe, qwen2_moe, mixtral, gemma2 or gemma3_text"},
      {[](json& c) {
         c["model_type"] = "qwen3";
         c["use_sliding_window"] = true;
       },
       "use_sliding_window"},
      {[](json& c) {
         c["rope_scaling"] = {{"rope_type", "mrope"}, {"factor", 4.0}};
       },
       "rope_scaling: type 'mrope' is not supported"},
      {[](json& c) {
         c["rope_scaling"] = {{"rope_type", "longrope"}, {"factor", 4.0}};
       },
       "rope_scaling: has no short_factor list"},
      {[](json& c) {
         c["rope_scaling"] = {
             {"rope_type", "longrope"}, {"short_factor", {1.0, -2.0}}, {"long_factor", {1.0, 2.0}}};
       },
       "short_factor[1] is not a positive number"},
      {[](json& c) {
         c["rope_parameters"] = {{"rope_type", "default"}, {"partial_rotary_factor", 0.75}};
       },
       "rope_parameters: partial_rotary_factor other than 1 is not supported"},
      {[](json& c) {
         c["rope_scaling"] = {{"rope_type", "linear"}};
       },
       "has no factor"},
      {[](json& c) { c["mlp_bias"] = true; }, "mlp_bias=true is not supported"},
      {[](json& c) { c["hidden_act"] = "gelu"; }, "hidden_act 'gelu' is not supported"},
      {[](json& c) { c["num_key_value_heads"] = 3; },
       "num_attention_heads is not a multiple of num_key_value_heads"},
      {[](json& c) { c.erase("hidden_size"); }, "has no hidden_size"},
      {[](json& c) { c["partial_rotary_factor"] = 0.5; }, "partial_rotary_factor"},
      {[](json& c) {
         c["model_type"] = "qwen2";
         c["use_sliding_window"] = true;
       },
       "use_sliding_window=true is not supported"},
      {[](json& c) {
         c["model_type"] = "qwen3_moe";
         c.update({{"num_experts", 4}, {"num_experts_per_tok", 5}, {"moe_intermediate_size", 8}});
       },
       "num_experts_per_tok (5) exceeds the number of experts (4)"},
      {[](json& c) {
         c["model_type"] = "qwen3_moe";
         c.update({{"num_experts", 4}, {"num_experts_per_tok", 2}});
       },
       "has no moe_intermediate_size"},
      {[](json& c) {
         c["model_type"] = "qwen2_moe";
         c.update({{"num_experts", 4}, {"num_experts_per_tok", 2}, {"moe_intermediate_size", 8}});
       },
       "has no shared_expert_intermediate_size"},
      {[](json& c) {
         c["model_type"] = "qwen3_moe";
         c.update({{"num_experts", 4},
                   {"num_experts_per_tok", 2},
                   {"moe_intermediate_size", 8},
                   {"mlp_only_layers", {7}}});
       },
       "mlp_only_layers[0]"},
      {[](json& c) {
         c["model_type"] = "mixtral";
         c["num_experts_per_tok"] = 2;
       },
       "has no num_local_experts"},
      {[](json& c) {
         c["model_type"] = "gemma3_text";
         c["hidden_act"] = "gelu_pytorch_tanh";
         c["use_bidirectional_attention"] = true;
       },
       "use_bidirectional_attention=true is not supported"},
      {[](json& c) {
         c["model_type"] = "gemma2";
         c["hidden_activation"] = "gelu";
       },
       "hidden_activation 'gelu' is not supported; expected gelu_pytorch_tanh"},
      {[](json& c) {
         c["model_type"] = "gemma2";
         c["hidden_act"] = "gelu_pytorch_tanh";
         c["layer_types"] = {"sliding_attention"};
       },
       "layer_types must list one type per layer (2)"},
      {[](json& c) {
         c["model_type"] = "gemma3_text";
         c["hidden_act"] = "gelu_pytorch_tanh";
         c["layer_types"] = {"sliding_attention", "chunked_attention"};
       },
       "layer_types holds \"chunked_attention\""},
      {[](json& c) {
         c["model_type"] = "gemma3_text";
         c["hidden_act"] = "gelu_pytorch_tanh";
         c["rope_parameters"] = {{"full_attention", {{"rope_type", "default"}}},
                                 {"sliding_attention", {{"rope_type", "linear"}, {"factor", 2}}}};
       },
       "rope_parameters.sliding_attention: type 'linear' is not supported; expected default"},
      {[](json& c) {  // a dense checkpoint said to be Mixtral: its router is missing
         c["model_type"] = "mixtral";
         c.update({{"num_local_experts", 4}, {"num_experts_per_tok", 2}});
       },
       "have no tensor 'model.layers.0.block_sparse_moe.gate.weight'"},
  };
  const json original = internal::read_json_file(path("config.json"), "config");
  for (const auto& [edit, message] : cases) {
    SCOPED_TRACE(message);
    edit_config([&](json& c) {
      c = original;
      edit(c);
    });
    expect_load_error(message);
  }
}

TEST_F(BadLlamaCheckpoint, WeightsThatDoNotFitTheConfigNameTheTensor) {
  edit_config([](json& c) { c["tie_word_embeddings"] = false; });
  internal::SafetensorsFile file(path("model.safetensors"));
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [name, entry] : file.entries()) {
    if (name != "lm_head.weight") tensors.emplace_back(name, file.read(name));
  }
  internal::write_safetensors(path("model.safetensors"), tensors);
  expect_load_error("have no tensor 'lm_head.weight'");
  tensors.emplace_back("lm_head.weight", at::zeros({32, 258}));
  internal::write_safetensors(path("model.safetensors"), tensors);
  expect_load_error("(transposed: Linear weights are [out, in])");
  tensors.back().second = at::zeros({258, 32});
  tensors.emplace_back("model.layers.0.mlp.extra.weight", at::zeros({2}));
  internal::write_safetensors(path("model.safetensors"), tensors);
  expect_load_error("unexpected tensor 'model.layers.0.mlp.extra.weight'");
}

TEST_F(BadLlamaCheckpoint, BrokenShardIndexesNameTheProblem) {
  std::filesystem::rename(path("model.safetensors"), path("model-00001-of-00001.safetensors"));
  const auto write_index = [&](const json& map) {
    std::ofstream(path("model.safetensors.index.json")) << json{{"weight_map", map}}.dump();
  };
  write_index({{"model.norm.weight", "../../etc/passwd"}});
  expect_load_error("is \"../../etc/passwd\", not a file name in the checkpoint directory");
  write_index({{"model.norm.weight", "model-00002-of-00002.safetensors"}});
  expect_load_error("which does not exist");
  write_index({{"model.nothing", "model-00001-of-00001.safetensors"}});
  expect_load_error("which has no such tensor");
  write_index(json::object());
  expect_load_error("weight_map is empty");
  std::ofstream(path("model.safetensors.index.json")) << "{\"weight_map\": ";
  expect_load_error("is not valid JSON");
}

TEST_F(BadLlamaCheckpoint, GenerationConfigAndTokenizerProblems) {
  std::ofstream(path("generation_config.json")) << R"({"eos_token_id": [2, "x"]})";
  expect_load_error("eos_token_id[1]");
  std::ofstream(path("generation_config.json")) << R"({"eos_token_id": 100000})";
  expect_load_error("eos_token_id 100000 is outside the vocabulary of 258");
  std::filesystem::remove(path("generation_config.json"));
  std::filesystem::remove(path("tokenizer.json"));
  expect_load_error("has no tokenizer: expected tokenizer.json, or vocab.json and merges.txt");
  std::ofstream(path("tokenizer.model")) << "spm";
  expect_load_error("has only a SentencePiece tokenizer.model, which is not supported");
}

}  // namespace
}  // namespace detllm
