// The built-in reference transformer, TorchScript models and callables.
#include "detllm_test/models.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "detllm_test/error.h"
#include "detllm_test/model_config.h"
#include "test_models.h"

namespace detllm {
namespace {

using ::testing::HasSubstr;

GenerationConfig greedy(int tokens = 8) {
  GenerationConfig config;
  config.max_new_tokens = tokens;
  return config;
}

TokenIds bytes(const std::string& text) { return ByteTokenizer().encode(text); }

// The CLI's help lists what the loader loads, from the loader's own lists:
// every preset and every model_type, each of them loadable.
TEST(ModelLists, TheClisHelpNamesEveryPresetAndFamily) {
  const std::string command = std::string(DETLLM_CLI_PATH) + " check --help";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string help;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) help.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0);
  std::string flat;  // CLI11 wraps long help lines
  for (char c : help) {
    if (c == '\n') c = ' ';
    if (c != ' ' || flat.empty() || flat.back() != ' ') flat += c;
  }
  for (const std::string& name : BuiltinConfig::preset_names()) {
    EXPECT_THAT(flat, ::testing::HasSubstr("builtin:" + name + ","));
    EXPECT_NO_THROW(BuiltinConfig::preset_named(name));
  }
  for (const std::string& type : BuiltinConfig::llama_architecture_types()) {
    EXPECT_THAT(flat, ::testing::HasSubstr(" " + type)) << type;
  }
  EXPECT_THAT(flat, ::testing::HasSubstr("model_type gpt2, llama,"));
}

TEST(BuiltinModel, GeneratesRequestedTokensWithLogprobsAndMargins) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  auto out = model->generate({bytes("Hello")}, greedy(8));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].tokens.size(), 8u);
  ASSERT_EQ(out[0].logprobs.size(), 8u);
  ASSERT_EQ(out[0].logit_margins.size(), 8u);
  for (double lp : out[0].logprobs) EXPECT_LE(lp, 0.0);
  for (double m : out[0].logit_margins) EXPECT_GE(m, 0.0);
  EXPECT_EQ(model->info().name, "builtin:tiny");
  EXPECT_EQ(model->info().vocab_size, 256);
}

TEST(BuiltinModel, WeightsComeFromTheSeed) {
  auto a = make_builtin_model(BuiltinConfig::tiny());
  auto b = make_builtin_model(BuiltinConfig::tiny());
  BuiltinConfig other = BuiltinConfig::tiny();
  other.weight_seed = 7;
  auto c = make_builtin_model(other);
  const auto prompt = std::vector<TokenIds>{bytes("The quick brown fox")};
  EXPECT_EQ(a->generate(prompt, greedy())[0].tokens, b->generate(prompt, greedy())[0].tokens);
  EXPECT_NE(a->generate(prompt, greedy())[0].tokens, c->generate(prompt, greedy())[0].tokens);
}

// The KV cache must give what recomputing the whole sequence gives: each token
// generated with the cache is the greedy choice for the prompt extended by the
// tokens before it, computed from scratch.
TEST(BuiltinModel, KvCacheMatchesRecomputation) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  const TokenIds prompt = bytes("Once upon a time");
  const TokenIds cached = model->generate({prompt}, greedy(10))[0].tokens;
  TokenIds extended = prompt;
  for (size_t k = 0; k < cached.size(); ++k) {
    EXPECT_EQ(model->generate({extended}, greedy(1))[0].tokens[0], cached[k]) << "token " << k;
    extended.push_back(cached[k]);
  }
}

// Left padding done right: a prompt gives the same tokens alone and padded
// beside a longer one. Its padding positions see only padding; were that to
// produce NaN (softmax over -inf), the NaN would reach the real tokens through
// the cache (0 * NaN) and generate() would throw NonFiniteLogits.
TEST(BuiltinModel, LeftPaddingDoesNotChangeTheOutput) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  const TokenIds short_prompt = bytes("Hi");
  const TokenIds long_prompt = bytes("A much longer prompt that forces padding");
  const auto alone = model->generate({short_prompt}, greedy())[0].tokens;
  const auto batched = model->generate({long_prompt, short_prompt}, greedy());
  EXPECT_EQ(batched[1].tokens, alone);
  EXPECT_EQ(batched[0].tokens, model->generate({long_prompt}, greedy())[0].tokens);
}

TEST(BuiltinModel, SamplingIsSeededPerRequest) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  GenerationConfig sample = greedy(12);
  sample.do_sample = true;
  sample.temperature = 1.5;
  sample.top_k = 50;
  sample.top_p = 0.95;
  const TokenIds prompt = bytes("Sample me");
  const auto first = model->generate({prompt}, sample)[0].tokens;
  EXPECT_EQ(model->generate({prompt}, sample)[0].tokens, first);
  // The request's draws do not depend on its neighbours in the batch.
  EXPECT_EQ(model->generate({bytes("a neighbour"), prompt}, sample)[1].tokens, first);
  sample.seed = 99;
  EXPECT_NE(model->generate({prompt}, sample)[0].tokens, first);
  // top_k = 1 is greedy.
  sample.top_k = 1;
  EXPECT_EQ(model->generate({prompt}, sample)[0].tokens,
            model->generate({prompt}, greedy(12))[0].tokens);
}

TEST(BuiltinModel, StopsAtEosToken) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  const TokenIds prompt = bytes("Stop");
  const auto full = model->generate({prompt}, greedy(8))[0].tokens;
  GenerationConfig config = greedy(8);
  config.eos_token_id = full[2];
  const auto stopped = model->generate({prompt}, config)[0];
  const auto first_eos = std::find(full.begin(), full.end(), full[2]) - full.begin();
  EXPECT_EQ(stopped.tokens, TokenIds(full.begin(), full.begin() + first_eos + 1));
  EXPECT_EQ(stopped.logprobs.size(), stopped.tokens.size());
}

TEST(BuiltinModel, RunsInBfloat16) {
  ModelOptions options;
  options.dtype = "bfloat16";
  auto model = make_builtin_model(BuiltinConfig::tiny(), options);
  EXPECT_EQ(model->generate({bytes("bf16")}, greedy(4))[0].tokens.size(), 4u);
  EXPECT_EQ(model->info().dtype, "bfloat16");
}

TEST(BuiltinModel, SavesAndLoadsWeights) {
  testing::TempDir dir;
  BuiltinConfig config = BuiltinConfig::tiny();
  config.weight_seed = 3;
  auto model = make_builtin_model(config);
  const std::string path = dir.path() + "/tiny.pt";
  save_builtin_weights(*model, path);
  auto loaded = load_builtin_weights(path, BuiltinConfig::tiny());
  const std::vector<TokenIds> prompt = {bytes("Round trip")};
  EXPECT_EQ(loaded->generate(prompt, greedy())[0].logprobs,
            model->generate(prompt, greedy())[0].logprobs);
  BuiltinConfig wider = BuiltinConfig::tiny();
  wider.n_embd = 128;
  EXPECT_ERROR_MENTIONS(load_builtin_weights(path, wider),
                        "has shape [256, 64], expected [256, 128]");
}

TEST(BuiltinModel, RejectsBadRequestsClearly) {
  auto model = make_builtin_model(BuiltinConfig::tiny());
  EXPECT_ERROR_MENTIONS(model->generate({{1, 300}}, greedy()), "token id 300 is outside");
  EXPECT_ERROR_MENTIONS(model->generate({TokenIds(250, 65)}, greedy(10)),
                        "exceeds builtin:tiny's context of 256");
  EXPECT_ERROR_MENTIONS(model->generate({{}}, greedy()), "empty prompt");
  EXPECT_ERROR_MENTIONS(load_model("builtin:huge"), "unknown built-in preset 'huge'");
  ModelOptions options;
  options.dtype = "float8";
  EXPECT_ERROR_MENTIONS(make_builtin_model(BuiltinConfig::tiny(), options),
                        "unsupported dtype 'float8'");
  options = {};
  options.device = "tpu";
  EXPECT_ERROR_MENTIONS(make_builtin_model(BuiltinConfig::tiny(), options), "device 'tpu'");
}

TEST(BuiltinModel, CudaOnAMachineWithoutItIsAClearError) {
  ModelOptions options;
  options.device = "cuda";
  try {
    auto model = make_builtin_model(BuiltinConfig::tiny(), options);
    GTEST_SKIP() << "this machine has CUDA";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("device 'cuda' requested"));
  }
}

class TorchScriptModelTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
};

TEST_F(TorchScriptModelTest, GeneratesLikeAnyModel) {
  auto model =
      load_torchscript_model(testing::write_torchscript_model(dir_.path(), testing::Defect::kNone));
  const TokenIds prompt = bytes("TorchScript");
  auto out = model->generate({prompt}, greedy(6));
  EXPECT_EQ(out[0].tokens.size(), 6u);
  EXPECT_EQ(out[0].logprobs.size(), 6u);
  // Padded beside a longer prompt, the output is unchanged: the mask is honoured.
  EXPECT_EQ(model->generate({bytes("a longer neighbour prompt"), prompt}, greedy(6))[1].tokens,
            out[0].tokens);
  EXPECT_EQ(model->info().backend, "torchscript");
  EXPECT_EQ(model->info().file_sha256.size(), 64u);
  EXPECT_EQ(model->info().vocab_size, 256);
}

TEST_F(TorchScriptModelTest, AcceptsTupleOutputAndForwardWithoutMask) {
  auto tuple = load_torchscript_model(
      testing::write_torchscript_model(dir_.path(), testing::Defect::kTupleOutput));
  auto plain =
      load_torchscript_model(testing::write_torchscript_model(dir_.path(), testing::Defect::kNone));
  auto no_mask = load_torchscript_model(
      testing::write_torchscript_model(dir_.path(), testing::Defect::kNoMaskArgument));
  const std::vector<TokenIds> prompt = {bytes("Same weights")};
  EXPECT_EQ(tuple->generate(prompt, greedy())[0].tokens,
            plain->generate(prompt, greedy())[0].tokens);
  EXPECT_EQ(no_mask->generate(prompt, greedy())[0].tokens,
            plain->generate(prompt, greedy())[0].tokens);
}

TEST_F(TorchScriptModelTest, BadFilesAndOutputsAreClearErrors) {
  EXPECT_ERROR_MENTIONS(load_torchscript_model(dir_.path() + "/missing.pt"), "file does not exist");
  const std::string corrupt = dir_.path() + "/corrupt.pt";
  std::ofstream(corrupt) << "this is not a zip archive";
  EXPECT_ERROR_MENTIONS(load_torchscript_model(corrupt), "not a valid TorchScript archive");
  // A truncated archive: the first half of a real one.
  const std::string real = testing::write_torchscript_model(dir_.path(), testing::Defect::kNone);
  std::ifstream in(real, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  const std::string truncated = dir_.path() + "/truncated.pt";
  std::ofstream(truncated, std::ios::binary) << content.substr(0, content.size() / 2);
  EXPECT_ERROR_MENTIONS(load_torchscript_model(truncated), "not a valid TorchScript archive");

  auto flat = load_torchscript_model(
      testing::write_torchscript_model(dir_.path(), testing::Defect::kFlatLogits));
  EXPECT_ERROR_MENTIONS(flat->generate({bytes("shape")}, greedy()),
                        "returned logits of shape [5, 256]; expected [B, T, V] = [1, 5, V]");
  auto nan = load_torchscript_model(
      testing::write_torchscript_model(dir_.path(), testing::Defect::kNanAfter12));
  try {
    nan->generate({bytes("ten bytes!")}, greedy());
    ADD_FAILURE() << "NaN logits accepted";
  } catch (const NonFiniteLogits& e) {
    EXPECT_EQ(e.row(), 0);
    EXPECT_EQ(e.step(), 2);  // 10 prompt tokens + 2 generated = 12
  }
}

TEST(CallableModel, WrapsAFunction) {
  ModelInfo info;
  info.name = "callable:echo";
  auto model = make_callable_model(
      [](const std::vector<TokenIds>& batch, const GenerationConfig& config) {
        std::vector<Generation> out;
        for (const TokenIds& ids : batch)
          out.push_back({TokenIds(config.max_new_tokens, ids[0]), {}, {}});
        return out;
      },
      info);
  EXPECT_EQ(model->generate({{7, 8}}, greedy(3))[0].tokens, (TokenIds{7, 7, 7}));
  EXPECT_EQ(model->info().backend, "callable");
  EXPECT_ERROR_MENTIONS(make_callable_model(nullptr, info), "the generate function is empty");
}

}  // namespace
}  // namespace detllm
