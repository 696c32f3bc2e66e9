// The `reference` tests: the built-in engine and the tokenizers against
// Hugging Face's own transformers and tokenizers. make_reference.py (run by
// ctest's reference.fixtures with the pinned Python environment) writes
// checkpoints with save_pretrained and tokenizer.json files with tokenizers,
// and what those libraries compute with them; these tests load the same files
// with detllm and compare. Without the environment they skip, saying why.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "artifacts/json_io.h"
#include "detllm_test/determinism.h"
#include "detllm_test/models.h"
#include "models/builtin_model.h"

namespace detllm {
namespace {

using json = nlohmann::json;

constexpr double kMaxLogitDifference = 1e-4;  // float32 both sides, different kernels

// Why there are no fixtures, or nullopt when there are.
std::optional<std::string> unavailable() {
  std::ifstream why(std::string(DETLLM_REFERENCE_DIR) + "/unavailable.txt");
  if (!why) return std::nullopt;
  std::stringstream text;
  text << why.rdbuf();
  return text.str();
}

#define SKIP_WITHOUT_REFERENCE_FIXTURES()                              \
  if (const auto why = unavailable()) GTEST_SKIP() << *why;            \
  ASSERT_TRUE(std::filesystem::exists(DETLLM_REFERENCE_DIR "/versions.json")) \
      << "no reference fixtures in " DETLLM_REFERENCE_DIR ": run ctest -L reference (its "   \
         "reference.fixtures step writes them)"

json read(const std::string& path) { return internal::read_json_file(path, "reference"); }

at::Tensor tensor_of(const json& rows) {
  std::vector<float> values;
  for (const json& row : rows) {
    for (const json& v : row) values.push_back(v.get<float>());
  }
  return torch::tensor(values).view({static_cast<int64_t>(rows.size()), -1});
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

class ModelReference : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelReference, MatchesTransformers) {
  SKIP_WITHOUT_REFERENCE_FIXTURES();
  const std::string dir = std::string(DETLLM_REFERENCE_DIR) + "/models/" + GetParam();
  const json expected = read(dir + "/expected.json");
  DeterminismScope controls(DeterminismOptions{}, "cpu");
  auto model = load_hf_model(dir);
  auto& builtin = dynamic_cast<internal::BuiltinModel&>(*model);
  GenerationConfig greedy;
  greedy.max_new_tokens = expected["new_tokens"].get<int>();

  double logit_diff = 0, logprob_diff = 0, margin = 1e9;
  size_t tokens_compared = 0;
  std::vector<TokenIds> prompts;
  for (size_t p = 0; p < expected["prompts"].size(); ++p) {
    const json& prompt = expected["prompts"][p];
    SCOPED_TRACE("prompt " + prompt["text"].dump());
    const TokenIds ids = prompt["ids"].get<TokenIds>();
    EXPECT_EQ(model->tokenizer().encode(prompt["text"].get<std::string>()), ids)
        << "token ids differ from transformers' tokenizer";
    prompts.push_back(ids);

    const json& alone = expected["greedy"][p];
    const Generation ours = model->generate({ids}, greedy)[0];
    EXPECT_EQ(ours.tokens, alone["tokens"].get<TokenIds>()) << "greedy tokens differ";
    tokens_compared += ours.tokens.size();
    logprob_diff = std::max(logprob_diff, logprob_difference(ours, alone["logits"]));
    margin = std::min(margin, smallest_margin(alone["logits"]));

    TokenIds sequence = ids;
    const TokenIds theirs = alone["tokens"].get<TokenIds>();
    sequence.insert(sequence.end(), theirs.begin(), theirs.end());
    const at::Tensor diff =
        (builtin.sequence_logits(sequence) - tensor_of(expected["sequence_logits"][p])).abs();
    logit_diff = std::max(logit_diff, diff.max().item<double>());
  }

  // Left-padded, all prompts at once, as transformers' generate pads them.
  const std::vector<Generation> batch = model->generate(prompts, greedy);
  ASSERT_EQ(batch.size(), prompts.size());
  for (size_t row = 0; row < batch.size(); ++row) {
    SCOPED_TRACE("batch row " + std::to_string(row));
    EXPECT_EQ(batch[row].tokens, expected["batch"]["tokens"][row].get<TokenIds>())
        << "left-padded batch tokens differ";
    tokens_compared += batch[row].tokens.size();
    logprob_diff = std::max(logprob_diff,
                            logprob_difference(batch[row], expected["batch"]["logits"][row]));
  }
  EXPECT_LE(logit_diff, kMaxLogitDifference);
  EXPECT_LE(logprob_diff, kMaxLogitDifference);
  // The figures of docs/models.md#against-transformers.
  std::printf("reference %s (%s weights): max |d logit| %.3g, max |d logprob| %.3g, "
              "%zu tokens compared, smallest top-1/top-2 margin %.3g\n",
              GetParam().c_str(), expected["storage_dtype"].get<std::string>().c_str(), logit_diff,
              logprob_diff, tokens_compared, margin);
  RecordProperty("max_logit_difference", std::to_string(logit_diff));
  RecordProperty("max_logprob_difference", std::to_string(logprob_diff));
  RecordProperty("tokens_compared", static_cast<int>(tokens_compared));
}

// make_models.py's FAMILIES.
INSTANTIATE_TEST_SUITE_P(Transformers, ModelReference,
                         ::testing::Values("gpt2", "llama_gqa_llama3", "llama_linear",
                                           "llama_dynamic", "qwen2", "mistral",
                                           "llama_bf16_sharded", "qwen2_f16_sharded"),
                         [](const auto& info) { return info.param; });

class TokenizerReference : public ::testing::TestWithParam<std::string> {};

// Up to five differing strings are shown, then the count.
TEST_P(TokenizerReference, IdsAndDecodeMatchTokenizers) {
  SKIP_WITHOUT_REFERENCE_FIXTURES();
  const std::string dir = std::string(DETLLM_REFERENCE_DIR) + "/tokenizers/" + GetParam();
  const json expected = read(dir + "/expected.json");
  const auto tokenizer = load_hf_tokenizer(dir);
  const json& strings = expected["strings"];
  size_t wrong_ids = 0, wrong_decode = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::string text = strings[i].get<std::string>();
    const TokenIds want = expected["ids"][i].get<TokenIds>();
    const TokenIds got = tokenizer->encode(text);
    if (got != want && ++wrong_ids <= 5) {
      ADD_FAILURE() << "ids of " << internal::quote_text(text) << ":\n  ours   "
                    << json(got).dump() << "\n  theirs " << json(want).dump();
    }
    const TokenIds prefix(want.begin(), want.begin() + static_cast<std::ptrdiff_t>(want.size() / 2));
    for (const auto& [ids, key] : {std::pair{want, "decoded"}, std::pair{prefix, "decoded_prefix"}}) {
      const std::string theirs = expected[key][i].get<std::string>();
      const std::string ours = tokenizer->decode(ids);
      if (ours != theirs && ++wrong_decode <= 5) {
        ADD_FAILURE() << key << " of " << json(ids).dump() << ":\n  ours   "
                      << internal::quote_text(ours) << "\n  theirs " << internal::quote_text(theirs);
      }
    }
  }
  EXPECT_EQ(wrong_ids, 0u) << "of " << strings.size() << " strings";
  EXPECT_EQ(wrong_decode, 0u) << "of " << 2 * strings.size() << " decodes";
  std::printf("reference tokenizer %s: %zu strings, %zu with other ids, %zu other decodes\n",
              GetParam().c_str(), strings.size(), wrong_ids, wrong_decode);
}

// make_tokenizers.py's kinds.
INSTANTIATE_TEST_SUITE_P(
    Tokenizers, TokenizerReference,
    ::testing::Values("llama3_large", "qwen2_nfc_large", "gpt2", "gpt2_pair", "spm_llama2",
                      "spm_metaspace_always", "spm_metaspace_first", "spm_metaspace_never",
                      "spm_metaspace_nosplit", "gpt2_flagged", "qwen2_nfc_large_flagged",
                      "spm_llama2_flagged"),
    [](const auto& info) { return info.param; });

}  // namespace
}  // namespace detllm
