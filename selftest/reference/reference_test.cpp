// The `reference` tests: the built-in engine and the tokenizers against
// Hugging Face's own transformers and tokenizers. make_reference.py (run by
// ctest's reference.fixtures with the pinned Python environment) writes
// checkpoints with save_pretrained and tokenizer.json files with tokenizers,
// and what those libraries compute with them; these tests load the same files
// with detllm and compare. Without the environment they skip, saying why.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "artifacts/json_io.h"
#include "detllm_test/determinism.h"
#include "detllm_test/models.h"
#include "models/builtin_model.h"
#include "tokenizers/tokenizer_files.h"

namespace detllm {
namespace {

using json = nlohmann::json;

constexpr double kMaxLogitDifference = 1e-4;  // float32 both sides, different kernels

// What make_models.py (FAMILIES) and make_tokenizers.py write, in their order.
const std::vector<std::string> kFamilies = {"gpt2",
                                            "llama_gqa_llama3",
                                            "llama_linear",
                                            "llama_dynamic",
                                            "llama_yarn",
                                            "qwen2",
                                            "qwen3",
                                            "mistral",
                                            "phi3",
                                            "qwen3_moe",
                                            "mixtral",
                                            "qwen2_moe",
                                            "gemma2",
                                            "gemma3_text",
                                            "phi3_longrope",
                                            "llama_bf16_sharded",
                                            "qwen2_f16_sharded",
                                            "qwen3_bf16",
                                            "qwen3_moe_bf16"};
const std::vector<std::string> kTokenizerKinds = {
    "llama3_large",        "qwen2_nfc_large",     "gpt2",
    "gpt2_pair",           "spm_llama2",          "spm_metaspace_always",
    "spm_metaspace_first", "spm_metaspace_never", "spm_metaspace_nosplit",
    "spm_gemma",           "gpt2_flagged",        "qwen2_nfc_large_flagged",
    "spm_llama2_flagged"};

// Why there are no fixtures, or nullopt when there are.
std::optional<std::string> unavailable() {
  std::ifstream why(std::string(DETLLM_REFERENCE_DIR) + "/unavailable.txt");
  if (!why) return std::nullopt;
  std::stringstream text;
  text << why.rdbuf();
  return text.str();
}

#define SKIP_WITHOUT_REFERENCE_FIXTURES()                                     \
  if (const auto why = unavailable()) GTEST_SKIP() << *why;                   \
  ASSERT_TRUE(std::filesystem::exists(DETLLM_REFERENCE_DIR "/versions.json")) \
      << "no reference fixtures in " DETLLM_REFERENCE_DIR                     \
         ": run ctest -L reference (its "                                     \
         "reference.fixtures step writes them)"

json read(const std::string& path) { return internal::read_json_file(path, "reference"); }

at::Tensor tensor_of(const json& rows) {
  std::vector<float> values;
  for (const json& row : rows) {
    for (const json& v : row) values.push_back(v.get<float>());
  }
  return at::tensor(values).view({static_cast<int64_t>(rows.size()), -1});
}

// The largest difference between our chosen tokens' logprobs and
// log_softmax(transformers' step logits) at the same tokens.
double logprob_difference(const Generation& ours, const json& step_logits) {
  double worst = 0;
  const at::Tensor logprobs = tensor_of(step_logits).log_softmax(-1);
  for (size_t t = 0; t < ours.tokens.size() && t < ours.logprobs.size(); ++t) {
    const double theirs = logprobs[static_cast<int64_t>(t)][ours.tokens[t]].item<double>();
    worst = std::max(worst, std::abs(ours.logprobs[t] - theirs));
  }
  return worst;
}

// The smallest top-1/top-2 gap transformers saw: how far from a near-tie.
double smallest_margin(const json& step_logits) {
  const at::Tensor top = std::get<0>(tensor_of(step_logits).topk(2, -1));
  return (top.select(1, 0) - top.select(1, 1)).min().item<double>();
}

// How far our engine is from transformers on one fixture directory.
struct ModelComparison {
  double logit_diff = 0, logprob_diff = 0, margin = 1e9;
  size_t tokens_compared = 0;
  std::vector<std::string> differences;  // one line each: ids, greedy tokens, batch tokens
};

ModelComparison compare_with_transformers(const std::string& dir, const json& expected) {
  DeterminismScope controls(DeterminismOptions{}, "cpu");
  auto model = load_hf_model(dir);
  auto& builtin = dynamic_cast<internal::BuiltinModel&>(*model);
  GenerationConfig greedy;
  greedy.max_new_tokens = expected["new_tokens"].get<int>();
  ModelComparison c;
  std::vector<TokenIds> prompts;
  for (size_t p = 0; p < expected["prompts"].size(); ++p) {
    const json& prompt = expected["prompts"][p];
    const std::string which = "prompt " + prompt["text"].dump();
    const TokenIds ids = prompt["ids"].get<TokenIds>();
    if (model->tokenizer().encode(prompt["text"].get<std::string>()) != ids) {
      c.differences.push_back(which + ": token ids differ from transformers' tokenizer");
    }
    prompts.push_back(ids);

    const json& alone = expected["greedy"][p];
    const TokenIds theirs = alone["tokens"].get<TokenIds>();
    const Generation ours = model->generate({ids}, greedy)[0];
    if (ours.tokens != theirs) {
      c.differences.push_back(which + ": greedy tokens " + json(ours.tokens).dump() +
                              ", transformers " + json(theirs).dump());
    }
    c.tokens_compared += ours.tokens.size();
    c.logprob_diff = std::max(c.logprob_diff, logprob_difference(ours, alone["logits"]));
    c.margin = std::min(c.margin, smallest_margin(alone["logits"]));

    TokenIds sequence = ids;
    sequence.insert(sequence.end(), theirs.begin(), theirs.end());
    const at::Tensor diff =
        (builtin.sequence_logits(sequence) - tensor_of(expected["sequence_logits"][p])).abs();
    c.logit_diff = std::max(c.logit_diff, diff.max().item<double>());
  }
  // Left-padded, all prompts at once, as transformers' generate pads them.
  const std::vector<Generation> batch = model->generate(prompts, greedy);
  for (size_t row = 0; row < batch.size(); ++row) {
    const TokenIds theirs = expected["batch"]["tokens"][row].get<TokenIds>();
    if (batch[row].tokens != theirs) {
      c.differences.push_back("left-padded batch row " + std::to_string(row) + ": tokens " +
                              json(batch[row].tokens).dump() + ", transformers " +
                              json(theirs).dump());
    }
    c.tokens_compared += batch[row].tokens.size();
    c.logprob_diff =
        std::max(c.logprob_diff, logprob_difference(batch[row], expected["batch"]["logits"][row]));
  }
  return c;
}

std::string model_fixture(const std::string& family) {
  return std::string(DETLLM_REFERENCE_DIR) + "/models/" + family;
}

class ModelReference : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelReference, MatchesTransformers) {
  SKIP_WITHOUT_REFERENCE_FIXTURES();
  const std::string dir = model_fixture(GetParam());
  const json expected = read(dir + "/expected.json");
  const ModelComparison c = compare_with_transformers(dir, expected);
  EXPECT_THAT(c.differences, ::testing::IsEmpty());
  EXPECT_LE(c.logit_diff, kMaxLogitDifference);
  EXPECT_LE(c.logprob_diff, kMaxLogitDifference);
  // The figures of docs/models.md#against-transformers-and-tokenizers.
  std::printf(
      "reference %s (%s weights): max |d logit| %.3g, max |d logprob| %.3g, "
      "%zu tokens compared, smallest top-1/top-2 margin %.3g\n",
      GetParam().c_str(), expected["storage_dtype"].get<std::string>().c_str(), c.logit_diff,
      c.logprob_diff, c.tokens_compared, c.margin);
  RecordProperty("max_logit_difference", std::to_string(c.logit_diff));
  RecordProperty("max_logprob_difference", std::to_string(c.logprob_diff));
  RecordProperty("tokens_compared", static_cast<int>(c.tokens_compared));
}

// Negative controls: a real bug, a feature the engine does not apply because
// config.json no longer asks for it, must fail the comparison with
// transformers: Mistral's sliding window, Gemma 2's soft-capping, Gemma 3's
// local rope base and sliding layers, Qwen3-MoE's renormalised routing.
// A fixture whose config.json is edited before the comparison.
struct ConfigEdit {
  const char* name;
  const char* family;
  void (*edit)(json& config);
};
// The fixture of `edit.family` with its config.json edited, against what
// transformers computed from the unedited one.
ModelComparison compare_edited(const ConfigEdit& edit) {
  const std::string source = model_fixture(edit.family);
  const json expected = read(source + "/expected.json");
  const std::string dir = ::testing::TempDir() + "/" + edit.name;
  std::filesystem::remove_all(dir);
  std::filesystem::copy(source, dir);
  json config = read(dir + "/config.json");
  edit.edit(config);
  std::ofstream(dir + "/config.json") << config.dump();
  ModelComparison c = compare_with_transformers(dir, expected);
  std::filesystem::remove_all(dir);
  return c;
}

const ConfigEdit kIgnoredFeatures[] = {
    {"mistral_window", "mistral", [](json& c) { c["sliding_window"] = nullptr; }},
    {"gemma2_softcapping", "gemma2",
     [](json& c) { c["attn_logit_softcapping"] = c["final_logit_softcapping"] = nullptr; }},
    {"gemma3_local_rope", "gemma3_text",
     [](json& c) { c["rope_parameters"]["sliding_attention"]["rope_theta"] = 1000000.0; }},
    {"gemma3_sliding_layers", "gemma3_text",
     [](json& c) {
       c["layer_types"] = {"full_attention", "full_attention", "full_attention"};
     }},
    {"qwen3_moe_renormalisation", "qwen3_moe", [](json& c) { c["norm_topk_prob"] = false; }},
    {"phi3_long_factors", "phi3_longrope",
     [](json& c) { c["rope_parameters"]["long_factor"] = c["rope_parameters"]["short_factor"]; }},
};

// The same fixtures with config.json rewritten as older checkpoints (and
// other versions of transformers) write it must still match: Qwen3-MoE's
// expert count as num_experts, Gemma 3's rope as rope_theta, rope_scaling and
// rope_local_base_freq with sliding_window_pattern instead of layer_types,
// Gemma 2 without layer_types.
const ConfigEdit kOlderConfigs[] = {
    {"qwen3_moe_num_experts", "qwen3_moe",
     [](json& c) {
       c["num_experts"] = c["num_local_experts"];
       c.erase("num_local_experts");
     }},
    {"gemma3_flat_rope_and_pattern", "gemma3_text",
     [](json& c) {
       const json rope = c["rope_parameters"];
       c.erase("rope_parameters");
       c.erase("layer_types");
       c["rope_theta"] = rope["full_attention"]["rope_theta"];
       c["rope_scaling"] = {{"rope_type", "linear"}, {"factor", rope["full_attention"]["factor"]}};
       c["rope_local_base_freq"] = rope["sliding_attention"]["rope_theta"];
       c["sliding_window_pattern"] = 2;  // sliding, full, sliding: the fixture's layers
     }},
    {"gemma2_without_layer_types", "gemma2", [](json& c) { c.erase("layer_types"); }},
};

class OlderConfig : public ::testing::TestWithParam<ConfigEdit> {};

TEST_P(OlderConfig, StillMatchesTransformers) {
  SKIP_WITHOUT_REFERENCE_FIXTURES();
  const ModelComparison c = compare_edited(GetParam());
  EXPECT_THAT(c.differences, ::testing::IsEmpty());
  EXPECT_LE(c.logit_diff, kMaxLogitDifference);
}

INSTANTIATE_TEST_SUITE_P(Transformers, OlderConfig, ::testing::ValuesIn(kOlderConfigs),
                         [](const auto& info) { return std::string(info.param.name); });

class ModelReferenceControl : public ::testing::TestWithParam<ConfigEdit> {};

TEST_P(ModelReferenceControl, AnIgnoredFeatureFailsTheComparison) {
  SKIP_WITHOUT_REFERENCE_FIXTURES();
  const ModelComparison c = compare_edited(GetParam());
  EXPECT_GT(c.logit_diff, 1e-2);
  EXPECT_THAT(c.differences, ::testing::Not(::testing::IsEmpty()));
}

INSTANTIATE_TEST_SUITE_P(Transformers, ModelReferenceControl, ::testing::ValuesIn(kIgnoredFeatures),
                         [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(Transformers, ModelReference, ::testing::ValuesIn(kFamilies),
                         [](const auto& info) { return info.param; });

// Our encode and decode against what tokenizers wrote in expected.json.
struct TokenizerComparison {
  size_t strings = 0, wrong_ids = 0, wrong_decodes = 0;
  std::vector<std::string> first;  // the first few differences, in full
};

TokenizerComparison compare_with_tokenizers(const Tokenizer& tokenizer, const json& expected) {
  TokenizerComparison c;
  const json& strings = expected["strings"];
  c.strings = strings.size();
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string text = strings[i].get<std::string>();
    const TokenIds want = expected["ids"][i].get<TokenIds>();
    const TokenIds got = tokenizer.encode(text);
    if (got != want && ++c.wrong_ids <= 3) {
      c.first.push_back("ids of " + internal::quote_text(text) + ":\n  ours   " + json(got).dump() +
                        "\n  theirs " + json(want).dump());
    }
    const TokenIds prefix(want.begin(),
                          want.begin() + static_cast<std::ptrdiff_t>(want.size() / 2));
    for (const auto& [ids, key] :
         {std::pair{want, "decoded"}, std::pair{prefix, "decoded_prefix"}}) {
      const std::string theirs = expected[key][i].get<std::string>();
      const std::string ours = tokenizer.decode(ids);
      if (ours != theirs && ++c.wrong_decodes <= 3) {
        c.first.push_back(std::string(key) + " of " + json(ids).dump() + ":\n  ours   " +
                          internal::quote_text(ours) + "\n  theirs " +
                          internal::quote_text(theirs));
      }
    }
  }
  return c;
}

std::string tokenizer_fixture(const std::string& kind) {
  return std::string(DETLLM_REFERENCE_DIR) + "/tokenizers/" + kind;
}

class TokenizerReference : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerReference, IdsAndDecodeMatchTokenizers) {
  SKIP_WITHOUT_REFERENCE_FIXTURES();
  const std::string dir = tokenizer_fixture(GetParam());
  const TokenizerComparison c =
      compare_with_tokenizers(*load_hf_tokenizer(dir), read(dir + "/expected.json"));
  for (const std::string& difference : c.first) ADD_FAILURE() << difference;
  EXPECT_EQ(c.wrong_ids, 0u) << "of " << c.strings << " strings";
  EXPECT_EQ(c.wrong_decodes, 0u) << "of " << 2 * c.strings << " decodes";
  std::printf("reference tokenizer %s: %zu strings, %zu with other ids, %zu other decodes\n",
              GetParam().c_str(), c.strings, c.wrong_ids, c.wrong_decodes);
}

// Negative controls: real bugs, a normalizer or a decoder not applied, must
// fail the comparison with tokenizers.
TEST(TokenizerReferenceControl, ASkippedNormalizerOrDecoderFailsTheComparison) {
  SKIP_WITHOUT_REFERENCE_FIXTURES();
  for (const auto& [kind, section] :
       {std::pair{"qwen2_nfc_large", "normalizer"}, std::pair{"spm_llama2", "decoder"}}) {
    SCOPED_TRACE(std::string(kind) + " without its " + section);
    const std::string dir = tokenizer_fixture(kind);
    json file = read(dir + "/tokenizer.json");
    file[section] = nullptr;
    const auto broken = internal::hf_tokenizer_from_json("broken/tokenizer.json", file.dump());
    const TokenizerComparison c = compare_with_tokenizers(*broken, read(dir + "/expected.json"));
    EXPECT_GT(std::string(section) == "normalizer" ? c.wrong_ids : c.wrong_decodes, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, TokenizerReference, ::testing::ValuesIn(kTokenizerKinds),
                         [](const auto& info) { return info.param; });

// The lists above are make_reference.py's (versions.json): a fixture added
// there without a test here, or the other way round, fails.
TEST(ReferenceFixtures, EveryFixtureHasItsTest) {
  SKIP_WITHOUT_REFERENCE_FIXTURES();
  const json versions = read(DETLLM_REFERENCE_DIR "/versions.json");
  EXPECT_EQ(versions["families"].get<std::vector<std::string>>(), kFamilies);
  EXPECT_EQ(versions["tokenizers"].get<std::vector<std::string>>(), kTokenizerKinds);
}

}  // namespace
}  // namespace detllm
